"""Static RAM and flash of the ESPHome `binmoe` component + model, per shipped ESP32-C3 node.

What is measured, and how:
- rv32imc (the ESP32-C3's ISA): the node's own portable code - the model runner with the kernel and the model's
  constant data (binmoe_runner.cpp), the routing and protocol code (binmoe_router.cpp, binmoe_message.cpp) and,
  where the node defines USE_BINMOE_ALARM_EVENTS / _ALARM_CODE / _BASELINE (elsewhere nothing calls them and the
  linker drops them), the alarm-event detector (binmoe_events.cpp), the alarm-code detector
  (binmoe_alarm_code.cpp) and the per-machine baseline (binmoe_baseline.cpp) - from the tree that `esphome
  compile --only-generate` writes for each shipped C3 node, compiled with Debian's riscv64-unknown-elf-g++
  -march=rv32imc -Os; section sizes of the object files (flash = text + rodata + data, RAM = data + bss). C
  library code they call (snprintf, expf, log10) is not counted: ESP-IDF links it anyway.
- The ESPHome glue (binmoe_component.cpp: the sample ring, message buffers, entities, API, logs) and the node's
  sample source (binmoe_adxl345.cpp, binmoe_adc.cpp; the microphone callback is in the glue) need ESPHome's core
  and the C++ library, which the bare-metal toolchain lacks; they are compiled for rv32imc/ilp32 with Debian's
  riscv64-linux-gnu-g++ and its C++ library headers (apt: g++-riscv64-linux-gnu), -Os, no PIC, at the node's own
  log level, against the host node's generated ESPHome core (the C3 tree's core needs ESP-IDF; the platform macro
  is USE_HOST) with the component's own defines of the C3 node's defines.h in place of the host node's (which has
  the host-only replay), plus the source's ESPHome headers (i2c, microphone) from the node's own tree. ESP-IDF's
  ADC API is declared by benchmarks/idf_shim. Two shims make the 64-bit Linux headers parse for ilp32 (an empty
  gnu/stubs-ilp32.h, a SYS_futex number); they do not change the component's code. Inline functions of ESPHome's
  core and the C++ library that the glue instantiates (GPIOPin, Component's default hooks, std::string) are not
  counted: every firmware has them. Static RAM = sizeof the component and source objects (compiled for ilp32).
- Linker relaxation: ESP-IDF links the C3 firmware with GCC's default relaxation (calls and jumps shrink to jal /
  c.j once addresses are known). The node's objects are linked together twice with the bare-metal linker, with and
  without relaxation, and the difference in code is subtracted. Conservatively, every symbol outside these objects
  (ESPHome core, ESP-IDF, libc) is placed 32 MB away, so calls to it stay long, and no global pointer is defined,
  so no gp-relative relaxation is counted. The ESP32 firmware itself cannot be linked here (no PlatformIO
  downloads), so this is the component's own share, not a whole-firmware map.

Usage, from the repository root: ~/.cache/binmoe/venv-esphome/bin/python -m benchmarks.node_footprint
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, TypedDict

import benchmarks_md
from scripts.lib.host_build import build_flags, generate

ROOT = Path(__file__).resolve().parents[1]

NODES = ["binmoe-sound-node.yaml", "binmoe-vibration-node.yaml", "binmoe-vibration-piezo-node.yaml"]
# Shipped nodes with a default option turned off: (the shipped YAML, YAML merged into it). The node gets its
# own name, so its generated tree and objects do not collide with the shipped node's.
VARIANTS = {"binmoe-sound-node.yaml + alarm_tone: false": ("binmoe-sound-node.yaml", "binmoe:\n  alarm_tone: false\n")}
RV32 = [
    "riscv64-unknown-elf-g++",
    "-march=rv32imc",
    "-mabi=ilp32",
    "-Os",
    "-std=gnu++20",
    "-fno-exceptions",
    "-fno-rtti",
    "-fno-threadsafe-statics",
    "-ffunction-sections",
    "-fdata-sections",
    "--specs=picolibc.specs",
]
# static RAM is a target; flash is reported, with issue #14's ceiling (the seed's 8 KB target was dropped there)
TARGET_RAM, FLASH_CEILING = 16 * 1024, 12 * 1024


SECTION_PREFIXES = (".text.", ".rodata.", ".srodata.", ".data.rel.ro.", ".data.", ".sdata.")


def owner(section: str) -> str | None:
    """The mangled symbol a -ffunction-sections/-fdata-sections section belongs to (None: no symbol)."""
    for prefix in SECTION_PREFIXES:
        if section.startswith(prefix):
            name = section[len(prefix) :]
            name = name.split(".str1.")[0].split(".cst")[0]
            return name if name.startswith("_Z") else None
    return None


def demangle(names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True).stdout
    return dict(zip(names, out.splitlines(), strict=True))


SHARED = ("esphome::Component::", "esphome::GPIOPin::", "vtable for esphome::GPIOPin", "std::", "vtable for std::")


def is_shared(symbol: str) -> bool:
    """Inline code of ESPHome's core or the C++ library that any firmware has (not instantiated for binmoe)."""
    return symbol.startswith(SHARED) and "binmoe" not in symbol


def flash_of(size: dict[str, int]) -> int:
    return size["text"] + size["rodata"] + size["data"]


def section_sizes(path: Path, size_tool: str) -> list[tuple[str, int]]:
    """(section, bytes) of an object or ELF file, from `size -A`."""
    out = subprocess.run([size_tool, "-A", str(path)], capture_output=True, text=True, check=True).stdout
    return [(p[0], int(p[1])) for p in (line.split() for line in out.splitlines()) if len(p) >= 2 and p[1].isdigit()]


def sections(obj: Path, size_tool: str, shared: dict[str, int] | None = None) -> dict[str, int]:
    """Flash/RAM section totals of an object file. Sections of inline functions and vtables that belong to
    ESPHome's core or the C++ library (GPIOPin, Component's default hooks, std::string) are left out and
    listed in `shared`: every ESPHome firmware already has them, and the linker keeps one copy."""
    rows = section_sizes(obj, size_tool)
    names = demangle(sorted({o for name, _ in rows if (o := owner(name))}))
    totals = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for name, size in rows:
        symbol = names.get(owner(name) or "", "")
        if is_shared(symbol) and not name.startswith((".bss", ".sbss")):
            if shared is not None:
                shared[symbol] = shared.get(symbol, 0) + size
            continue
        if name.startswith(".text"):
            totals["text"] += size
        elif name.startswith((".rodata", ".srodata", ".data.rel.ro")):
            totals["rodata"] += size
        elif name.startswith((".data", ".sdata")):
            totals["data"] += size
        elif name.startswith((".bss", ".sbss")):
            totals["bss"] += size
    return totals


def generate_node(
    node: str, work: Path, components: Path = ROOT / "esphome" / "components", extra_yaml: str = ""
) -> Path:
    shutil.copytree(
        ROOT / "esphome", work / "esphome", ignore=shutil.ignore_patterns(".esphome", "components"), dirs_exist_ok=True
    )
    yaml = work / "esphome" / node
    # the shipped YAML, with the component from `components` (default: this checkout) instead of GitHub
    text = yaml.read_text().replace("github://binmoe/binmoe@main", str(components))
    if extra_yaml:  # ESPHome merges a top-level block of the node's YAML into its packages' one
        name = re.search(r"^  name: (\S+)$", text, re.MULTILINE)
        if name is None:
            raise ValueError(f"{node} has no `name:` substitution")
        text = text.replace(name.group(0), f"  name: {name.group(1)}-variant") + "\n" + extra_yaml
    yaml.write_text(text)
    return generate(yaml)


RELAX_SCRIPT = """SECTIONS {
  . = 0x42000000;
  .text : { *(.text .text.*) }
  .rodata : { *(.rodata .rodata.* .srodata .srodata.* .data.rel.ro .data.rel.ro.*) }
  .data : { *(.data .data.* .sdata .sdata.*) }
  .bss : { *(.bss .bss.* .sbss .sbss.* COMMON) }
}
"""  # no __global_pointer$: no gp relaxation is counted


def relaxation_saving(objects: list[Path], work: Path) -> int:
    """Bytes of code that linker relaxation removes from these objects linked together (see the docstring);
    the external symbols they use are defined 32 MB away so calls to them keep their long form."""
    script = work / "relax.ld"
    script.write_text(RELAX_SCRIPT)

    def symbols(*flags: str) -> set[str]:
        out = subprocess.run(["riscv64-unknown-elf-nm", *flags, *map(str, objects)], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
        return {line.split()[-1] for line in out.splitlines() if line.strip() and not line.endswith(":")}

    external = symbols("-u") - symbols("--defined-only")
    text = {}
    for mode in ("--relax", "--no-relax"):
        elf = work / f"relax{mode}.elf"
        subprocess.run(["riscv64-unknown-elf-ld", "-m", "elf32lriscv", mode, "-e", "0", "-T", str(script),
                        "--no-warn-rwx-segments", *(f"--defsym={name}=0x40000000" for name in sorted(external)),
                        "-o", str(elf), *map(str, objects)], check=True)  # fmt: skip
        text[mode] = sum(size for name, size in section_sizes(elf, "riscv64-unknown-elf-size") if name == ".text")
    return text["--no-relax"] - text["--relax"]


def rv32_share(build: Path, parts: dict[str, int], objects: list[Path]) -> dict[str, int]:
    """Kernel + model + runner (binmoe_runner.cpp), routing (binmoe_router.cpp), protocol messages
    (binmoe_message.cpp), alarm events (binmoe_events.cpp), the per-machine baseline (binmoe_baseline.cpp)
    and, on nodes that listen for them, the alarms' temporal codes (binmoe_alarm_code.cpp); adds to `parts`
    where the flash goes."""
    src = build / "src"
    comp = src / "esphome" / "components" / "binmoe"
    total = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    names = ["binmoe_runner.cpp", "binmoe_router.cpp", "binmoe_message.cpp"]
    defines = binmoe_defines(build)
    # in the firmware only where the node defines them (elsewhere nothing calls them: the linker drops them)
    if "#define USE_BINMOE_ALARM_EVENTS" in defines:
        names.append("binmoe_events.cpp")
    if "#define USE_BINMOE_BASELINE" in defines:
        names.append("binmoe_baseline.cpp")
    if "#define USE_BINMOE_ALARM_CODE" in defines:
        names.append("binmoe_alarm_code.cpp")
    if "#define USE_BINMOE_ALARM_TONE" in defines:
        names.append("binmoe_alarm_tone.cpp")
    for name in names:
        obj = build / f"rv32_{name}.o"
        subprocess.run([*RV32, f"-I{src}", f"-I{comp}", "-c", str(comp / name), "-o", str(obj)], check=True)
        objects.append(obj)
        size = sections(obj, "riscv64-unknown-elf-size")
        for key, value in size.items():
            total[key] += value
        if name == "binmoe_runner.cpp":
            parts["model_constants"] = size["rodata"] + size["data"]
            parts["kernel_and_runner_code"] = size["text"]
        elif name == "binmoe_events.cpp":
            parts["alarm_events"] = flash_of(size)
        elif name == "binmoe_alarm_code.cpp":
            parts["alarm_code"] = flash_of(size)
        elif name == "binmoe_alarm_tone.cpp":
            parts["alarm_tone"] = flash_of(size)
        elif name == "binmoe_baseline.cpp":
            parts["baseline"] = flash_of(size)
        else:
            parts["routing_and_messages"] = parts.get("routing_and_messages", 0) + flash_of(size)
    return total


# The ESPHome glue of each node: the component itself (binmoe_component.cpp) and the node's sample source, with
# what the node's configuration defines beyond the component's own defines (those come from the node's generated
# defines.h, node_defines_overlay; its own generated tree also supplies the sources' ESPHome headers).
class Glue(TypedDict):
    """What a node's ESPHome glue compiles: its sample source (None: the microphone callback in the component),
    the defines and ESPHome components it needs, and the source's class (sized with the component)."""

    source: str | None
    defines: list[str]
    components: list[str]
    cls: str | None


GLUE: dict[str, Glue] = {
    "binmoe-sound-node.yaml": {"source": None, "defines": [],
                               "components": ["microphone", "audio"], "cls": None},
    "binmoe-vibration-node.yaml": {"source": "binmoe_adxl345.cpp", "defines": ["USE_I2C"],
                                   "components": ["i2c"], "cls": "Adxl345Source"},
    "binmoe-vibration-piezo-node.yaml": {"source": "binmoe_adc.cpp", "defines": [], "components": [],
                                         "cls": "AdcSource"},
}  # fmt: skip
IDF_SHIM = ROOT / "benchmarks" / "idf_shim"  # declarations of the ESP-IDF ADC API (see its README)
SIZEOF_PROBE = """#include "esphome/components/binmoe/binmoe_component.h"
{include}
extern "C" char binmoe_objects[sizeof(esphome::binmoe::BinMoEComponent){extra}];  // nm -S: its size
char binmoe_objects[sizeof(esphome::binmoe::BinMoEComponent){extra}];
"""
RV32_LINUX = "riscv64-linux-gnu-g++"


_BINMOE_DEFINE = re.compile(r"^#define (?:USE_BINMOE_|BINMOE_)\w+")


def binmoe_defines(tree: Path) -> list[str]:
    """The component's own `#define` lines in a generated tree's esphome/core/defines.h (what its YAML turned
    on: sample source, alarm-code detector, outbox size, host replay)."""
    text = (tree / "src" / "esphome" / "core" / "defines.h").read_text()
    return [line for line in text.splitlines() if _BINMOE_DEFINE.match(line)]


def node_defines_overlay(host_build: Path, node_build: Path, overlay: Path) -> None:
    """The host tree's defines.h with the component's defines of the node instead of the host node's (which
    has the host-only replay, and a sound node's alarm-code detector), in `overlay`, which shadows it."""
    host = (host_build / "src" / "esphome" / "core" / "defines.h").read_text().splitlines()
    lines = [line for line in host if not _BINMOE_DEFINE.match(line)]
    if lines and lines[-1].strip() == "":
        lines.pop()
    target = overlay / "esphome" / "core" / "defines.h"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join([*lines, *binmoe_defines(node_build)]) + "\n")


def log_level(node_build: Path) -> str:
    (flag,) = [f for f in build_flags(node_build) if f.startswith("-DESPHOME_LOG_LEVEL=")]
    return flag


def rv32_glue(
    host_build: Path,
    node_build: Path,
    node: str,
    work: Path,
    shared: dict[str, int],
    parts: dict[str, int],
    objects: list[Path],
    level: str | None = None,
) -> dict[str, int]:
    """The component's ESPHome glue for one node, compiled for rv32imc/ilp32 with Debian's Linux cross compiler
    against the host node's ESPHome core (the C3 tree's core needs ESP-IDF), with the node's log level and the
    ESPHome headers of its sample source from the node's own tree."""
    if shutil.which(RV32_LINUX) is None:
        raise SystemExit(f"{RV32_LINUX} is missing: apt-get install g++-riscv64-linux-gnu")
    glue = GLUE[VARIANTS[node][0] if node in VARIANTS else node]
    (work / "shim" / "gnu").mkdir(parents=True, exist_ok=True)
    (work / "shim" / "gnu" / "stubs-ilp32.h").write_text("")
    overlay = work / f"overlay-{node_build.name}"
    for component in glue["components"]:
        shutil.copytree(node_build / "src" / "esphome" / "components" / component,
                        overlay / "esphome" / "components" / component, dirs_exist_ok=True)  # fmt: skip
    node_defines_overlay(host_build, node_build, overlay)
    flags = [RV32_LINUX, "-march=rv32imc", "-mabi=ilp32", "-Os", "-std=gnu++20", "-fno-exceptions", "-fno-rtti",
             "-ffunction-sections", "-fdata-sections", "-fno-pic", "-fno-PIE", "-DUSE_HOST", "-DSYS_futex=98",
             f"-DESPHOME_LOG_LEVEL=ESPHOME_LOG_LEVEL_{level}" if level else log_level(node_build),
             *(f"-D{d}" for d in glue["defines"]), "-idirafter", str(work / "shim"), f"-I{overlay}",
             f"-I{host_build / 'src'}", f"-I{IDF_SHIM}"]  # fmt: skip
    comp = ROOT / "esphome" / "components" / "binmoe"
    total = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for source in ["binmoe_component.cpp", *([glue["source"]] if glue["source"] else [])]:
        obj = work / f"glue_{node_build.name}_{level or 'node'}_{source}.o"
        subprocess.run([*flags, "-c", str(comp / source), "-o", str(obj)], check=True)
        objects.append(obj)
        size = sections(obj, "riscv64-linux-gnu-size", shared)
        for key, value in size.items():
            total[key] += value
        part = "esphome_glue" if source == "binmoe_component.cpp" else "sample_source"
        parts[part] = flash_of(size)
    probe = work / f"sizeof_{node_build.name}.cpp"
    cls, header = glue["cls"], (glue["source"] or "").removesuffix(".cpp")
    probe.write_text(SIZEOF_PROBE.format(
        include=f'#include "esphome/components/binmoe/{header}.h"' if cls else "",
        extra=f" + sizeof(esphome::binmoe::{cls})" if cls else ""))  # fmt: skip
    subprocess.run([*flags, "-c", str(probe), "-o", str(probe.with_suffix(".o"))], check=True)
    nm = subprocess.run(["riscv64-linux-gnu-nm", "-S", str(probe.with_suffix(".o"))],
                        capture_output=True, text=True, check=True).stdout  # fmt: skip
    (line,) = [line for line in nm.splitlines() if line.endswith(" binmoe_objects")]
    object_bytes = int(line.split()[1], 16)
    return {"flash": flash_of(total), "ram": object_bytes + total["data"] + total["bss"]}


def measure_node(
    node: str, host_build: Path, work: Path, components: Path = ROOT / "esphome" / "components"
) -> dict[str, Any]:
    """Flash and static RAM of one shipped C3 node (or a VARIANTS entry), built with the component (and its
    models) in `components`."""
    yaml, extra = VARIANTS.get(node, (node, ""))
    node_build = generate_node(yaml, work / re.sub(r"\W+", "-", node.removesuffix(".yaml")), components, extra)
    parts: dict[str, int] = {}
    shared: dict[str, int] = {}  # this node's inline code of ESPHome's core / the C++ library, by symbol
    portable: list[Path] = []
    share = rv32_share(node_build, parts, portable)
    glue_objects: list[Path] = []
    glue = rv32_glue(host_build, node_build, node, work, shared, parts, glue_objects)
    # the same glue with ESPHome's logger at INFO (no CONFIG/DEBUG log strings): what a quieter node saves
    info_objects: list[Path] = []
    glue_info = rv32_glue(host_build, node_build, node, work, {}, {}, info_objects, level="INFO")
    relax = relaxation_saving(portable + glue_objects, work)
    relax_info = relaxation_saving(portable + info_objects, work)
    objects_flash = flash_of(share) + glue["flash"]
    return {
        "rv32imc": share,
        "glue_rv32imc": glue,
        "flash_bytes": objects_flash - relax,
        "flash_bytes_objects": objects_flash,
        "relaxation_saving_bytes": relax,
        "static_ram_bytes": share["data"] + share["bss"] + glue["ram"],
        "flash_parts": parts,
        "flash_bytes_logger_info": flash_of(share) + glue_info["flash"] - relax_info,
        "not_counted_shared_inline_code": shared,
    }


def node_label(node: str) -> str:
    """A shipped node's YAML, or a VARIANTS entry as `yaml` with `option: value`."""
    return f"`{node}`" if node in NODES else "`{}` with `{}`".format(*node.split(" + "))


def main() -> None:
    rows = []
    data = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        host = generate(ROOT / "tests" / "esphome" / "nodes" / "host-sound.yaml")
        for node in [*NODES, *VARIANTS]:
            data[node] = measure_node(node, host, work)
            share, glue = data[node]["rv32imc"], data[node]["glue_rv32imc"]
            flash, ram = data[node]["flash_bytes"], data[node]["static_ram_bytes"]
            label = node_label(node)
            rows.append(
                f"| {label} | {share['text']} | {share['rodata'] + share['data']} | "
                f"{share['data'] + share['bss']} | {glue['flash']} | {glue['ram']} | "
                f"-{data[node]['relaxation_saving_bytes']} | **{flash}** | **{ram}** |"
            )
            print(node, data[node])
    body = (
        "Component + model on the ESP32-C3 nodes (target: <= 16 KB static RAM; flash is reported, to stay under 12 KB)."
        " rv32imc columns: kernel + model + runner + routing/protocol messages (binmoe_runner.cpp,"
        " binmoe_router.cpp, binmoe_message.cpp from the node's generated tree) and the optional parts the node's"
        " YAML compiles in (USE_BINMOE_* in its defines.h): alarm events (binmoe_events.cpp) and the alarm-code"
        " detector (binmoe_alarm_code.cpp) with the tone-following T3/T4 detector (binmoe_alarm_tone.cpp, `alarm_tone`,"
        " default on; the row `alarm_tone: false` is the node without it) on the sound node, the per-machine"
        " baseline (binmoe_baseline.cpp) on the vibration nodes;"
        " compiled for the C3's ISA with riscv64-unknown-elf-g++ -Os."
        " Glue columns: the ESPHome glue (binmoe_component.cpp and the node's sample source: the microphone"
        " callback, binmoe_adxl345.cpp or binmoe_adc.cpp) compiled for rv32imc/ilp32 with riscv64-linux-gnu-g++ -Os"
        " at the node's log level (DEBUG), against ESPHome's headers with the node's own component defines (sample"
        " source, optional parts, outbox of 8 messages); ESP-IDF's ADC API is declared by"
        " `benchmarks/idf_shim` (no ESP-IDF download here). Glue RAM = sizeof the component and source objects."
        " Relaxation: the node's objects linked together with and without linker relaxation (ESP-IDF links with"
        " GCC's default relaxation); calls to anything outside them are kept long (placed 32 MB away) and no"
        " gp-relative relaxation is counted. Flash total = the sections' sizes minus that saving."
        " Not counted: libc/libgcc, ESPHome core, the I2S/I2C/ADC drivers and their DMA buffers, and ESPHome's or"
        " the C++ library's own inline functions the glue instantiates (every firmware has them; listed in"
        " node_footprint.json).\n\n"
        "| node | rv32 text | rv32 const data | rv32 RAM | glue flash | glue RAM | relaxation | flash total |"
        " RAM total |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    nodes = [data[n] for n in NODES]
    variants_text = ""
    for variant in VARIANTS:
        yaml, option = variant.split(" + ")
        ram = data[variant]["static_ram_bytes"]
        variants_text += (
            f" `{yaml}` with `{option}` (not the default): {data[variant]['flash_bytes']} B flash,"
            f" {ram} B static RAM ({'meets' if ram <= TARGET_RAM else 'MISSES'} 16 KB)."
        )
    worst_flash = max(d["flash_bytes"] for d in nodes)
    worst_ram = max(d["static_ram_bytes"] for d in nodes)
    body += (
        f"\nWorst case: {worst_flash} B flash ({'under' if worst_flash <= FLASH_CEILING else 'OVER'} the"
        f" 12 KB = {FLASH_CEILING} B ceiling; without the relaxation saving"
        f" {max(d['flash_bytes_objects'] for d in nodes)} B), {worst_ram} B static RAM"
        f" ({'meets' if worst_ram <= TARGET_RAM else 'MISSES'} 16 KB) for the shipped nodes.{variants_text}"
        " With ESPHome's logger at INFO instead of the default DEBUG (no CONFIG/DEBUG log strings) the flash would"
        f" be {', '.join(str(d['flash_bytes_logger_info']) for d in nodes)} B."
        "\n\nEarlier code, measured without the relaxation step (the object sections' sum, the flash_bytes_objects"
        " field here): 11984, 12259 and 12603 B before model header format 2 (commit 9197876), 9785, 10022 and"
        " 9970 B with the 24-channel int8 models (commit 0c57d1b). Reproduce: `git worktree add /tmp/old"
        " 0c57d1b && cp -r benchmarks/__init__.py benchmarks/node_footprint.py benchmarks/idf_shim"
        " /tmp/old/benchmarks/ && cp -r benchmarks_md /tmp/old/ && cd /tmp/old &&"
        " ~/.cache/binmoe/venv-esphome/bin/python -m benchmarks.node_footprint`."
    )
    labels = {"model_constants": "model constants (weights, thresholds, twiddles, band edges, names)",
              "kernel_and_runner_code": "kernel + runner code", "routing_and_messages": "routing + protocol messages",
              "alarm_events": "alarm-event detector", "alarm_code": "alarm-code detector (T3/T4)",
              "alarm_tone": "tone-following T3/T4 detector (`alarm_tone`)",
              "baseline": "per-machine baseline (learner, anomaly score)",
              "esphome_glue": "ESPHome glue (entities, events, logs)", "sample_source": "sample source"}  # fmt: skip
    columns = [*NODES, *VARIANTS]
    body += "\n\nWhere the flash goes (bytes):\n\n| part | " + " | ".join(map(node_label, columns)) + " |\n"
    body += "|---|" + "---|" * len(columns) + "\n"
    for key, label in labels.items():
        body += f"| {label} | " + " | ".join(str(data[n]["flash_parts"].get(key, 0)) for n in columns) + " |\n"
    body += (
        "\nThe kernel is built at ESPHome's -Os throughout (its first layer's by-8 unrolled dot products keep an"
        " inference within the node-model issue's 160,000 rv32imc instructions). On the sound node the sample"
        " source (the microphone callback) is part of the glue. The parts are object-file sizes,"
        " before the relaxation saving."
    )
    benchmarks_md.write_section(
        "node-footprint",
        "ESPHome node: component + model footprint",
        "~/.cache/binmoe/venv-esphome/bin/python -m benchmarks.node_footprint",
        body,
    )
    benchmarks_md.write_json("node_footprint", data)
    print(body)


if __name__ == "__main__":
    main()
