"""SCL: loading real and synthetic files beside their plain lxml parse (the floor).

Every run is one fresh Python process that does one thing once and reports the seconds of
that work (measured inside, around the work only: wall clock and the process's CPU time)
and its peak resident set (VmHWM), so each figure is its own. The cases of one comparison
are interleaved (lxml, gen61850, lxml, gen61850, ...), repeated ``REPEAT`` times; a row
gives the minimum and the median milliseconds, the minimum CPU milliseconds, the median
peak RSS, and the ratios to lxml's minima and median RSS; each table ends with one line
per row saying what it does. The machine is shared: its load average is printed before
and after each table (on a loaded machine the CPU ratio moves less than the wall one).

Files: every corpus SCL file larger than 200 KB (real, distinct files), and synthetic SCDs
of about 10, 50 and 100 MB built from BCU_402T's IEDs under new names of the same length
(so LD names stay within 64 characters), in two variants: ``shared`` (copies as they are:
identical LN instances share their resolution) and ``distinct`` (in every copied LN a
string or float attribute of one DO names the copy, and every decimal value moves with
the copy: about 90 % of the LN instances have content of their own, the rest are of types
without such an attribute; every value stays valid for its type).

Rows (what each one does):
- ``lxml parse``: ``etree.parse`` of the whole file into a tree;
- ``open61850.scl``: its ``load_ieds`` (addresses, LDs, data sets, control blocks);
- ``gen61850 load``: ``load_scl(validate=False)``: read, link, check, build every IED;
- ``gen61850 check``: the same plus the official XSD of the file's version (corpus only);
- ``gen61850 generate``: load + render one IED's package (``--ied``), formatting included.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import print_table

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
BCU = CORPUS / "scl" / "BCU_402T.scd"
NS = "{http://www.iec.ch/61850/2003/SCL}"
REPEAT = int(os.environ.get("GEN61850_BENCH_REPEAT", "5"))
LARGE = 200_000  # corpus files above this size are measured
SIZES_MB = (10, 50, 100)


def synthetic_scd(target_mb: float, path: Path, *, distinct: bool) -> tuple[int, str]:
    """Write an SCD of about ``target_mb`` MB; returns (IED count, one IED's name)."""
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
    descriptions = _described_dos(templates)
    count = 0
    for n in range(1, copies):
        for index, ied in enumerate(ieds):
            original = ied.get("name") or "IED"
            # as long as the original: LD names (IED name + inst) keep their length
            name = f"{original[: max(1, len(original) - 5)]}{index}{n:04d}"
            clone = copy.deepcopy(ied)
            clone.set("name", name)
            if distinct:
                _distinct_values(clone, n, descriptions)
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


_VALUE_TYPES = ("VisString255", "VisString129", "VisString64", "Unicode255", "FLOAT32", "FLOAT64")


def _described_dos(templates: object) -> dict[str, tuple[str, str, str]]:
    """LNodeType id → (DO, DA, bType) of one of its DOs with an attribute any copy can hold
    its own value in: a description ``d``, else a string or float attribute."""
    if templates is None:
        return {}
    choice: dict[str, tuple[str, str]] = {}
    for do_type in templates.iterfind(f"{NS}DOType"):  # type: ignore[attr-defined]
        das = [(da.get("name"), da.get("bType")) for da in do_type.iterfind(f"{NS}DA")]
        ranked = [d for d in das if d[0] == "d"] + [d for d in das if d[1] in _VALUE_TYPES]
        if ranked:
            choice[do_type.get("id")] = ranked[0]
    found: dict[str, tuple[str, str, str]] = {}
    for ln_type in templates.iterfind(f"{NS}LNodeType"):  # type: ignore[attr-defined]
        for do in ln_type.iterfind(f"{NS}DO"):
            if do.get("type") in choice:
                da, btype = choice[do.get("type")]
                found[ln_type.get("id")] = (do.get("name"), da, btype)
                break
    return found


def _distinct_values(ied: object, n: int, described: dict[str, tuple[str, str, str]]) -> None:
    """Give every LN of a copied IED content of its own, with valid values: one attribute of
    one of its DOs (a description ``d``, else a string or float) takes a value naming the
    copy, and every decimal value moves with ``n``. No two LN instances of the file then
    have the same content, so the reader's sharing never applies (``desc`` or ``sAddr``
    alone, which the reader ignores, would not do that)."""
    for ln in ied.iter(f"{NS}LN", f"{NS}LN0"):  # type: ignore[attr-defined]
        for val in ln.iter(f"{NS}Val"):
            text = (val.text or "").strip()
            if "." in text and text.replace(".", "", 1).lstrip("-").isdigit():
                val.text = f"{float(text) + n / 1000:g}"
        chosen = described.get(ln.get("lnType"))
        if chosen is None:
            continue
        do_name, da_name, btype = chosen
        doi = next((d for d in ln.iterfind(f"{NS}DOI") if d.get("name") == do_name), None)
        if doi is None:
            doi = etree_sub(ln, "DOI", name=do_name)
        dai = next((d for d in doi.iterfind(f"{NS}DAI") if d.get("name") == da_name), None)  # type: ignore[attr-defined]
        if dai is None:
            dai = etree_sub(doi, "DAI", name=da_name)
        for old in list(dai):  # type: ignore[call-overload]
            dai.remove(old)  # type: ignore[attr-defined]
        value = f"{n}.5" if btype.startswith("FLOAT") else f"copy {n}"
        etree_sub(dai, "Val").text = value  # type: ignore[attr-defined]


def etree_sub(parent: object, tag: str, **attributes: str) -> object:
    from lxml import etree

    return etree.SubElement(parent, f"{NS}{tag}", **attributes)  # type: ignore[arg-type]


def measure(tool: str, path: str, ied: str, xsd: str) -> dict[str, float]:
    """Run one tool once on one file in this process: seconds of the work (what the tool
    imports is imported before the clock starts, and only that), peak RSS."""
    from lxml import etree

    if tool == "lxml parse":
        start, cpu = time.perf_counter(), time.process_time()
        etree.parse(path)
    elif tool == "open61850.scl":
        import open61850.scl

        start, cpu = time.perf_counter(), time.process_time()
        open61850.scl.load_ieds(path)
    elif tool == "gen61850 generate":
        from gen61850.generator.scl.device import device_packages
        from gen61850.generator.scl.model import load_scl

        start, cpu = time.perf_counter(), time.process_time()
        model = load_scl(Path(path), validate=False)
        device_packages(model, ieds=[ied] if ied else None)
    else:  # what a user of the reader imports, and only that (not the package renderer)
        from gen61850.generator.scl.model import load_scl

        start, cpu = time.perf_counter(), time.process_time()
        check = tool == "gen61850 check"
        load_scl(Path(path), validate=check, xsd=[Path(xsd)] if check and xsd else None)
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "peak_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would include the parent's)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(tool: str, path: Path, ied: str) -> dict[str, float]:
    xsd = CORPUS / "scl-xsd"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_scl",
            "--measure",
            tool,
            str(path),
            ied,
            str(xsd) if xsd.is_dir() else "",
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


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min), {os.cpu_count()} CPUs"


def compare(label: str, path: Path, tools: tuple[str, ...], ied: str = "") -> list[list[object]]:
    """Rows for one file: every tool run ``REPEAT`` times, interleaved."""
    runs: dict[str, list[dict[str, float]]] = {tool: [] for tool in tools}
    for _ in range(REPEAT):
        for tool in tools:
            runs[tool].append(_child(tool, path, ied))
    floor = min(r["seconds"] for r in runs[tools[0]])
    cpu_floor = min(r["cpu"] for r in runs[tools[0]])
    floor_mb = statistics.median(r["peak_mb"] for r in runs[tools[0]])
    rows: list[list[object]] = []
    for tool in tools:
        seconds = [r["seconds"] for r in runs[tool]]
        peak = statistics.median(r["peak_mb"] for r in runs[tool])
        what = tool + (" (--ied)" if tool == "gen61850 generate" and ied else "")
        rows.append(
            [
                label,
                what,
                min(seconds) * 1000,
                statistics.median(seconds) * 1000,
                min(seconds) / floor,
                min(r["cpu"] for r in runs[tool]) * 1000,
                min(r["cpu"] for r in runs[tool]) / cpu_floor,
                peak,
                peak / floor_mb,
            ]
        )
    return rows


HEADER = [
    "file",
    "what",
    "min ms",
    "median ms",
    "x lxml (min)",
    "min CPU ms",
    "x lxml (CPU)",
    "peak RSS MB",
    "x lxml RSS",
]
WHAT = (
    ("lxml parse", "etree.parse of the whole file into a tree (the floor)"),
    ("open61850.scl", "open61850's load_ieds: addresses, LDs, data sets, control blocks"),
    ("gen61850 load", "load_scl(validate=False): read, link, check, build every IED"),
    ("gen61850 check", "load_scl with the official XSD of the file's version"),
    ("gen61850 generate", "load_scl + render one IED's package (--ied), formatted"),
)


def main() -> None:
    if not BCU.is_file():
        print(f"skipped: {BCU} not found")
        return
    large = sorted(p for p in (CORPUS / "scl").iterdir() if p.stat().st_size > LARGE)
    print(f"\nrepeat {REPEAT}, interleaved; before: {_load()}")
    rows: list[list[object]] = []
    corpus_tools = ("lxml parse", "open61850.scl", "gen61850 load", "gen61850 check")
    for path in large:
        label = f"{path.name} ({path.stat().st_size / 1e3:.0f} KB)"
        rows += compare(label, path, corpus_tools)
    print_table(
        "SCL: real corpus files > 200 KB (one fresh process per run)",
        HEADER,
        rows,
        [w for w in WHAT if w[0] in corpus_tools],
    )
    print(f"after: {_load()}")
    with tempfile.TemporaryDirectory(prefix="gen61850-bench-scl-") as tmp:
        rows = []
        growth: dict[str, list[str]] = {}
        print(f"\nbefore: {_load()}")
        for distinct in (False, True):
            variant = "distinct" if distinct else "shared"
            for mb in SIZES_MB:
                path = Path(tmp) / f"synthetic_{mb}MB_{variant}.scd"
                count, one = synthetic_scd(mb, path, distinct=distinct)
                size = path.stat().st_size / 1e6
                label = f"synthetic {size:.0f} MB, {count} IEDs, {variant}"
                tools = ("lxml parse", "gen61850 load")
                if mb == SIZES_MB[0]:
                    tools += ("open61850.scl", "gen61850 generate")
                found = compare(label, path, tools, one)
                rows += found
                load = next(r for r in found if r[1] == "gen61850 load")
                wall, cpu = float(load[2]) / size, float(load[5]) / size  # type: ignore[arg-type]
                growth.setdefault(variant, []).append(f"{wall:.0f} / {cpu:.0f}")
                path.unlink()
        print_table("SCL: synthetic SCDs from BCU_402T's IEDs", HEADER, rows, WHAT)
        print_table(
            "Growth: gen61850 load, milliseconds per MB, wall / CPU (flat = linear)",
            ["variant", *[f"{mb} MB" for mb in SIZES_MB]],
            [[variant, *values] for variant, values in growth.items()],
        )
        print(f"after: {_load()}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--measure":
        tool, path, ied, xsd = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
        print(json.dumps(measure(tool, path, ied, xsd)))
    else:
        main()
