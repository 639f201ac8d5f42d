"""SCL: reading and generating, beside the plain lxml parse (the floor) and open61850.scl.

Files: the corpus's BCU_402T.scd (865 KB, 4 IEDs) and synthetic SCDs of about 10 and 50 MB
built here by copying BCU_402T's IEDs under new names (with their Communication entries);
one 10 MB variant gives every copied DOI its own ``desc`` so that no LN instance repeats
another (the reader shares the resolution of identical instances; this row shows the cost
without that help).
Each measurement runs in a fresh Python process, so its peak RSS (VmHWM) is its own; times
are taken inside the process around the work only, best of 5 / 3 / 2 runs (BCU, 10 MB,
50 MB): the team machine is shared and single runs vary by ±30 %. Rows:

- ``lxml parse``: ``etree.parse`` of the whole file (the floor);
- ``open61850.scl``: ``load_ieds`` (its reader: addresses, LDs, data sets, control blocks);
- ``gen61850 load``: ``load_scl(validate=False)``: read (one streaming pass), resolve every
  type, check;
- ``gen61850 check``: the same plus the official XSD of the file's version;
- ``gen61850 generate``: load + render every package (one IED, ``--ied``, for synthetic
  files: the whole file is still read and resolved).
"""

from __future__ import annotations

import copy
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import print_table

ROOT = Path(__file__).resolve().parents[1]
BCU = ROOT.parent / "shared" / "corpus" / "scl" / "BCU_402T.scd"
NS = "{http://www.iec.ch/61850/2003/SCL}"
TOOLS = ("lxml parse", "open61850.scl", "gen61850 load", "gen61850 check", "gen61850 generate")


def synthetic_scd(target_mb: float, path: Path, *, distinct: bool = False) -> tuple[int, str]:
    """Write an SCD of about ``target_mb`` MB; returns (IED count, one IED's name).

    ``distinct``: every copied DOI gets its own ``desc``, so no two LN instances have the
    same markup and the reader's sharing of identical instances never applies (the worst
    case for it; the values are still those of BCU_402T).
    """
    from lxml import etree

    tree = etree.parse(str(BCU))
    root = tree.getroot()
    ieds = root.findall(f"{NS}IED")
    ied_bytes = sum(len(etree.tostring(i)) for i in ieds)
    copies = max(1, round(target_mb * 1e6 / ied_bytes))
    subnetworks = root.findall(f"{NS}Communication/{NS}SubNetwork")
    aps = {
        cap.get("iedName"): (sub, cap)
        for sub in subnetworks
        for cap in sub.findall(f"{NS}ConnectedAP")
    }
    templates = root.find(f"{NS}DataTypeTemplates")
    insert_at = list(root).index(templates) if templates is not None else len(root)
    count = 0
    for n in range(1, copies):
        for ied in ieds:
            name = f"{ied.get('name')}_{n:04d}"
            clone = copy.deepcopy(ied)
            clone.set("name", name)
            if distinct:
                for number, doi in enumerate(clone.iter(f"{NS}DOI")):
                    doi.set("desc", f"{name} {number}")
            root.insert(insert_at, clone)
            insert_at += 1
            count += 1
            if ied.get("name") in aps:
                sub, cap = aps[ied.get("name")]
                cap_clone = copy.deepcopy(cap)
                cap_clone.set("iedName", name)
                for address in cap_clone.iter(f"{NS}GSE", f"{NS}SMV"):
                    address.getparent().remove(address)  # MAC/APPID would clash
                sub.append(cap_clone)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    return len(ieds) + count, ieds[0].get("name") or ""


def measure(tool: str, path: str, ied: str, repeat: int) -> dict[str, float]:
    """Run one tool on one file in this process: best seconds and peak RSS."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        if tool == "lxml parse":
            from lxml import etree

            etree.parse(path)
        elif tool == "open61850.scl":
            import open61850.scl

            open61850.scl.load_ieds(path)
        elif tool in ("gen61850 load", "gen61850 check"):
            from gen61850.generator.scl.model import load_scl

            load_scl(Path(path), validate=tool == "gen61850 check")
        else:
            from gen61850.generator.scl.device import device_packages
            from gen61850.generator.scl.model import load_scl

            model = load_scl(Path(path), validate=False)
            device_packages(model, ieds=[ied] if ied else None)
        best = min(best, time.perf_counter() - start)
    return {"seconds": best, "peak_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would include the parent's)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(tool: str, path: Path, ied: str, repeat: int) -> dict[str, float]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_scl",
            "--measure",
            tool,
            str(path),
            ied,
            str(repeat),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{tool} on {path.name} failed: {completed.stderr.strip()[-400:]}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if not BCU.is_file():
        print(f"skipped: {BCU} not found")
        return
    with tempfile.TemporaryDirectory(prefix="gen61850-bench-scl-") as tmp:
        files: list[tuple[str, Path, str, int]] = [(BCU.name, BCU, "", 5)]
        for mb, repeat, distinct in ((10, 3, False), (10, 3, True), (50, 2, False)):
            path = Path(tmp) / f"synthetic_{mb}MB{'_distinct' if distinct else ''}.scd"
            count, one = synthetic_scd(mb, path, distinct=distinct)
            kind = ", distinct DOIs" if distinct else ""
            label = f"synthetic {path.stat().st_size / 1e6:.0f} MB ({count} IEDs{kind})"
            files.append((label, path, one, repeat))
        rows = []
        per_mb: dict[str, list[float]] = {}
        for label, path, ied, repeat in files:
            size_mb = path.stat().st_size / 1e6
            floor = None
            for tool in TOOLS:
                result = _child(tool, path, ied, repeat)
                if floor is None:
                    floor = result["seconds"]
                what = tool + (f" (--ied {ied})" if ied and tool == "gen61850 generate" else "")
                rows.append(
                    [label, what, result["seconds"], result["peak_mb"], result["seconds"] / floor]
                )
                per_mb.setdefault(tool, []).append(result["seconds"] / size_mb)
        print_table(
            "SCL reading and generation (fresh process per row; x lxml = seconds / lxml parse)",
            ["file", "tool", "seconds", "peak RSS MB", "x lxml"],
            rows,
        )
        print_table(
            "Growth: seconds per MB of input (flat = linear)",
            ["tool", *[label.split(" IEDs")[0].replace(" (", ", ") for label, *_ in files]],
            [[tool, *values] for tool, values in per_mb.items()],
        )


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--measure":
        tool, path, ied, repeat = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
        print(json.dumps(measure(tool, path, ied, repeat)))
    else:
        main()
