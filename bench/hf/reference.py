#!/usr/bin/python3
"""Hugging Face transformers PyTorch fp32 reference for `sightline bench`.

Runs transformers' own modeling code and generate() (v4.40.2, the version the fixtures were made with;
Florence-2 through Microsoft's remote code) on the bench's full-size random checkpoints, and times the
same steps the bench times: the vision encoder alone, a whole caption of 20 greedy tokens and one with
3 beams (EOS suppressed, so always 20 new tokens). Each thread count runs in its own process.

  bench/hf/reference.py check [ARCH ...]        the tiny fixtures: HF's ids must come out (seconds)
  bench/hf/reference.py time ARCH [--threads 1,2] [--runs N] [--model DIR] [--image FILE] [--out FILE]

The transformers source is not a Debian package: give the folder holding its transformers/ package
(a checkout's src/) with --transformers DIR (or SIGHTLINE_HF_TRANSFORMERS), and for Florence-2 the folder holding
configuration_florence2.py and modeling_florence2.py with --florence2-code DIR (or
SIGHTLINE_HF_FLORENCE2_CODE). bench/hf/README.md says where they come from and how to set up.
"""

import argparse
import datetime
import gc
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings

# No __pycache__ beside the sources (here, in stubs/ or in the transformers checkout).
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared"))
FIXTURES = os.path.join(SHARED, "fixtures")
DEFAULT_IMAGE = os.path.join(SHARED, "images", "gps", "DSCN0010.jpg")
ARCHES = ["vit-gpt2", "blip", "kosmos-2", "florence-2"]
# The folders the TypeScript benches write their random full-size checkpoints to (bench/<arch>.ts).
BENCH_FOLDERS = {
    "vit-gpt2": "sightline-bench-vit-gpt2-v1",
    "blip": "sightline-bench-blip-large",
    "kosmos-2": "sightline-bench-kosmos2-fp16",
    "florence-2": "sightline-bench-florence-2-base",
}
EOS = {"vit-gpt2": 50256, "blip": 102, "kosmos-2": 2, "florence-2": 2}
RESULT_MARK = "HF_REFERENCE_RESULT "


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# Importing transformers from a source checkout, with stand-ins for what Debian lacks (stubs/README.md)


def setup_imports(args):
    transformers_dir = args.transformers or os.environ.get("SIGHTLINE_HF_TRANSFORMERS")
    if not transformers_dir:
        sys.exit("reference.py: give --transformers DIR (the folder holding the transformers/ package, v4.40.2)")
    if not os.path.isfile(os.path.join(transformers_dir, "transformers", "__init__.py")):
        sys.exit(f"reference.py: {transformers_dir} has no transformers/__init__.py")
    sys.path[:0] = [os.path.join(HERE, "stubs"), transformers_dir]
    import transformers

    if transformers.__version__ != "4.40.2":
        log(f"note: transformers {transformers.__version__}; the fixtures were made with 4.40.2")
    transformers.logging.set_verbosity_error()
    # generate()'s advice about max_length / early_stopping on the fixtures' own settings.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"transformers\.generation")
    return transformers


def florence2_module(args):
    """Microsoft's remote code imported as a package (it uses relative imports), as trust_remote_code would."""
    code = args.florence2_code or os.environ.get("SIGHTLINE_HF_FLORENCE2_CODE")
    if not code:
        sys.exit("reference.py: Florence-2 needs --florence2-code DIR (modeling_florence2.py and its configuration)")
    for f in ("configuration_florence2.py", "modeling_florence2.py"):
        if not os.path.isfile(os.path.join(code, f)):
            sys.exit(f"reference.py: {code} has no {f}")
    spec = importlib.util.spec_from_file_location(
        "florence2_remote", os.path.join(code, "__init__.py"), submodule_search_locations=[code]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["florence2_remote"] = package
    import florence2_remote.modeling_florence2 as modeling

    return modeling


def sha256(path):
    import hashlib

    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------------------------------------------
# Each architecture: its HF classes, its generate() inputs, and the vision encoder the bench times


class Arch:
    def __init__(self, name, args):
        self.name = name
        self.args = args
        import transformers

        self.t = transformers

    def load(self, folder):
        import torch

        t = self.t
        if self.name == "vit-gpt2":
            cls = t.VisionEncoderDecoderModel
        elif self.name == "blip":
            cls = t.BlipForConditionalGeneration
        elif self.name == "kosmos-2":
            cls = t.Kosmos2ForConditionalGeneration
        else:
            cls = florence2_module(self.args).Florence2ForConditionalGeneration
        model, info = cls.from_pretrained(folder, output_loading_info=True)
        # Every weight from the file (tied aliases aside, which HF does not list): none left random.
        problems = {k: v for k, v in info.items() if v}
        if problems:
            raise RuntimeError(f"{folder}: the checkpoint does not load cleanly: {problems}")
        model.eval()

        for p in model.parameters():
            if p.dtype != torch.float32:
                raise RuntimeError(f"{folder}: parameters are {p.dtype}, the reference is float32")
        return model

    def image_processor(self, folder):
        t = self.t
        if self.name == "vit-gpt2":
            return t.ViTImageProcessor.from_pretrained(folder)
        if self.name == "blip":
            return t.BlipImageProcessor.from_pretrained(folder)
        # Kosmos2Processor and Florence2Processor hand the image to their CLIPImageProcessor unchanged.
        return t.CLIPImageProcessor.from_pretrained(folder)

    def pixel_values(self, processor, image):
        """`image` is a PIL image as loaded; ViT and Florence-2's processors expect RGB from the caller."""
        if self.name in ("vit-gpt2", "florence-2"):
            image = image.convert("RGB")
        return processor(image, return_tensors="pt")["pixel_values"]

    def generate_inputs(self, pixel_values, prompt):
        """generate()'s tensors: pixel values plus the prompt's ids (as the fixtures record them)."""
        import torch

        inputs = {"pixel_values": pixel_values}
        for key in ("input_ids", "attention_mask", "image_embeds_position_mask"):
            if prompt.get(key) is not None:
                inputs[key] = torch.tensor(prompt[key], dtype=torch.long)
        return inputs

    def encode(self, model, pixel_values):
        """The vision encoder as the bench's encoder step times it (HF computes cross K/V in the decoder)."""
        import torch.nn.functional as F

        if self.name == "vit-gpt2":
            return model.encoder(pixel_values=pixel_values).last_hidden_state
        if self.name == "blip":
            return model.vision_model(pixel_values=pixel_values)[0]
        if self.name == "kosmos-2":
            # Kosmos2ForConditionalGeneration.generate(): vision tower, post_layernorm, L2 norm, resampler.
            hidden = model.vision_model(pixel_values=pixel_values)[0]
            hidden = F.normalize(model.vision_model.model.post_layernorm(hidden), dim=-1)
            return model.image_to_text_projection(hidden)[0]
        return model._encode_image(pixel_values)


def bench_prompt(arch):
    """The prompt `sightline bench` captions with, as HF token ids (the fixtures hold them; none for ViT-GPT2
    and BLIP, whose bench captions have no prompt)."""
    if arch in ("vit-gpt2", "blip"):
        return {}
    expected = read_expected(arch)
    wanted = "<grounding>An image of" if arch == "kosmos-2" else "<CAPTION>"
    for case in expected["cases"]:
        if case.get("prompt", case.get("task")) == wanted:
            return {k: case.get(k) for k in ("input_ids", "attention_mask", "image_embeds_position_mask")}
    raise RuntimeError(f"{arch}: no fixture case with the prompt {wanted}")


def read_expected(arch):
    with open(os.path.join(FIXTURES, arch, "expected.json")) as f:
        return json.load(f)


def read_bin(arch, entry):
    import numpy as np
    import torch

    data = np.fromfile(os.path.join(FIXTURES, arch, entry["file"]), dtype="<f4").reshape(entry["shape"])
    return torch.from_numpy(data.copy())


# ---------------------------------------------------------------------------------------------------
# check: the tiny fixtures, token for token


class Tally:
    """The checks against the fixtures: passed and total per architecture, failures over the run."""

    def __init__(self):
        self.failures = 0
        self.new_arch()

    def new_arch(self):
        self.passed = self.total = 0

    def record(self, ok, failure):
        self.total += 1
        if ok:
            self.passed += 1
        else:
            self.failures += 1
            log(f"FAIL {failure}")


def check(args):
    setup_imports(args)
    import torch
    from PIL import Image

    torch.set_num_threads(1)
    tally = Tally()
    arches = args.arches or ARCHES
    if not args.arches and not (args.florence2_code or os.environ.get("SIGHTLINE_HF_FLORENCE2_CODE")):
        log("florence-2: skipped (no --florence2-code)")
        arches = [a for a in arches if a != "florence-2"]
    for arch in arches:
        a = Arch(arch, args)
        folder = os.path.join(FIXTURES, arch)
        expected = read_expected(arch)
        model = a.load(folder)
        processor = a.image_processor(folder)
        tally.new_arch()
        pixels = features = None
        for case in expected["cases"]:
            if "pixel_values" in case:
                pixels = read_bin(arch, case["pixel_values"])
                # The image processor on the image file must give the fixture's pixel values.
                with Image.open(os.path.join(folder, case["image"])) as image:
                    image.load()
                    ours = a.pixel_values(processor, image)
                diff = (ours - pixels).abs().max().item()
                tally.record(diff <= 1e-4, f"{arch} {case['image']}: pixel values differ by {diff:.2e}")
                features = None
            # The encoder step the timing measures must give the fixture's tensor (1e-3).
            name = {
                "vit-gpt2": "encoder_last_hidden_state",
                "blip": "vision_last_hidden_state",
                "kosmos-2": "image_embeds",
                "florence-2": "image_features",
            }[arch]
            if name in case and features is None:
                with torch.no_grad():
                    features = a.encode(model, pixels)
                diff = (features - read_bin(arch, case[name])).abs().max().item()
                tally.record(diff <= 1e-3, f"{arch} {case['image']}: {name} differs by {diff:.2e}")
            prompt = {
                "input_ids": case.get("processor_input_ids", case.get("input_ids")),
                "attention_mask": case.get("processor_attention_mask", case.get("attention_mask")),
                "image_embeds_position_mask": case.get("image_embeds_position_mask"),
            }
            if arch == "florence-2":
                prompt["attention_mask"] = None  # Florence2Processor's mask is not passed to generate()
            inputs = a.generate_inputs(pixels, prompt)
            for g in case["generations"]:
                out = model.generate(**inputs, **g["kwargs"])
                ids = out.tolist()
                label = f"{arch} {case['image']} {case.get('prompt', case.get('task'))!r} {g['name']}"
                tally.record(ids == g["sequences"], f"{label}: {ids} != {g['sequences']}")
        log(f"{arch}: {tally.passed}/{tally.total} checks equal to the fixture (pixel values, encoder output, token ids)")
        del model
        gc.collect()
    return 1 if tally.failures else 0


# ---------------------------------------------------------------------------------------------------
# measure (one process per thread count): load, encoder, greedy 20, 3 beams × 20


def cpu_ms():
    return time.process_time() * 1000


def timed(f):
    c, t = cpu_ms(), time.perf_counter()
    value = f()
    return value, {"wallMs": round((time.perf_counter() - t) * 1000, 1), "cpuMs": round(cpu_ms() - c, 1)}


def median_timing(timings):
    """The median run by wall time (its CPU time with it), like bench/lib/result.ts medianTiming."""
    ordered = sorted(timings, key=lambda x: x["wallMs"])
    return ordered[(len(ordered) - 1) // 2]


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(args):
    setup_imports(args)
    import torch
    from PIL import Image

    threads = args.threads_one
    torch.set_num_threads(threads)
    arch = args.arches[0]
    a = Arch(arch, args)
    folder = args.model
    eos = EOS[arch]
    log(f"[{arch}, {threads} thread(s)] loading {folder} …")
    model, load = timed(lambda: a.load(folder))
    processor = a.image_processor(folder)
    log(f"  load {load['wallMs']:.0f} ms, RSS {rss_mib():.0f} MiB")
    with Image.open(args.image) as image:
        image.load()  # decoded before timing, as the bench decodes before caption()
    prompt = bench_prompt(arch)

    def caption(num_beams, max_new_tokens=20):
        # A whole caption call: the image processor on the decoded image, then generate().
        inputs = a.generate_inputs(a.pixel_values(processor, image), prompt)
        out = model.generate(
            **inputs, max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False, suppress_tokens=[eos]
        )
        # What generate() returns before the new tokens: Kosmos-2 the prompt; BLIP its prompt with [CLS]
        # swapped for BOS and [SEP] dropped (BOS alone without a prompt); the encoder-decoders the start token.
        prompt_length = inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
        start = {"kosmos-2": prompt_length, "blip": max(prompt_length - 1, 1)}.get(arch, 1)
        return out[0, start:].tolist()

    pixel_values = a.pixel_values(processor, image)
    caption(1, 2)  # warm-up, as the bench does
    steps = {"encoder": [], "greedy20": [], "beam3": []}
    for r in range(args.runs):
        with torch.no_grad():
            _, t = timed(lambda: a.encode(model, pixel_values))
        steps["encoder"].append(t)
        for step, beams in (("greedy20", 1), ("beam3", 3)):
            new_tokens, t = timed(lambda: caption(beams))
            if len(new_tokens) != 20 or eos in new_tokens:
                raise RuntimeError(f"{arch} {step}: new tokens {new_tokens}, expected 20 without EOS")
            steps[step].append(t)
        log(
            f"  run {r + 1}/{args.runs}: "
            + ", ".join(f"{k} {v[-1]['wallMs']:.0f} ms (cpu {v[-1]['cpuMs']:.0f})" for k, v in steps.items())
        )
    result = {
        "threads": threads,
        "load": load,
        **{k: median_timing(v) for k, v in steps.items()},
        "runs": {k: [x["wallMs"] for x in v] for k, v in steps.items()},
        "rssMiB": round(rss_mib()),
        "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "imageSize": list(image.size),
        "torch": torch.__version__,
        "transformers": sys.modules["transformers"].__version__,
        "blas": blas_library(),
    }
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


def blas_library():
    """The BLAS shared library this process loaded (Debian's torch calls whatever libblas.so.3 is)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    return sorted(os.path.realpath(p) for p in paths)


# ---------------------------------------------------------------------------------------------------
# time: the fixture check for that architecture, then one child process per thread count


def machine():
    cpu = platform.processor()
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        cpu = next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name:"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem_kib = int(next(l.split()[1] for l in f if l.startswith("MemTotal:")))
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "memGiB": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
    }


def child_argv(args, command, arch, extra):
    argv = [sys.executable, os.path.abspath(__file__), command, arch] + extra
    if args.transformers:
        argv += ["--transformers", args.transformers]
    if args.florence2_code:
        argv += ["--florence2-code", args.florence2_code]
    return argv


def time_arch(args):
    arch = args.arches[0] if args.arches else None
    if len(args.arches) != 1 or arch not in ARCHES:
        sys.exit(f"reference.py time: give one architecture: {', '.join(ARCHES)}")
    folder = args.model or os.path.join(tempfile.gettempdir(), BENCH_FOLDERS[arch])
    if not os.path.isfile(os.path.join(folder, "model.safetensors")):
        sys.exit(
            f"reference.py: no checkpoint in {folder}; write it first with\n"
            f"  node --import tsx bench/hf/prepare.ts {arch}"
        )
    log(f"checking {arch} against its fixture first …")
    if subprocess.run(child_argv(args, "check", arch, [])).returncode != 0:
        sys.exit(f"reference.py: {arch} does not reproduce its fixture; not timing it")
    load = os.getloadavg()[0]
    if load > 0.5:
        log(f"note: load average {load:.2f}: other programs are running; expect slower figures than when quiet")
    started = datetime.datetime.now(datetime.timezone.utc)
    by_threads = {}
    for threads in [int(t) for t in args.threads.split(",")]:
        env = dict(os.environ)
        # One setting for every pool: torch's OpenMP, OpenBLAS's own threads, MKL if present.
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        extra = ["--threads-one", str(threads), "--runs", str(args.runs), "--model", folder]
        extra += ["--image", args.image]
        before = os.getloadavg()
        proc = subprocess.run(child_argv(args, "_measure", arch, extra), env=env, stdout=subprocess.PIPE, text=True)
        after = os.getloadavg()
        lines = [l for l in proc.stdout.splitlines() if l.startswith(RESULT_MARK)]
        if proc.returncode != 0 or not lines:
            sys.exit(f"reference.py: the {threads}-thread run failed (status {proc.returncode})")
        row = json.loads(lines[-1][len(RESULT_MARK) :])
        row["loadAverage"] = {"before": [round(x, 2) for x in before], "after": [round(x, 2) for x in after]}
        by_threads[str(threads)] = row
    best = {}
    for step in ("encoder", "greedy20", "beam3"):
        t, row = min(by_threads.items(), key=lambda kv: kv[1][step]["wallMs"])
        best[step] = {"ms": round(row[step]["wallMs"]), "threads": int(t)}
    first = next(iter(by_threads.values()))
    florence_code = args.florence2_code or os.environ.get("SIGHTLINE_HF_FLORENCE2_CODE")
    report = {
        "arch": arch,
        "what": (
            "Hugging Face transformers PyTorch fp32 on the bench's random full-size checkpoint: vision encoder "
            "alone; whole caption = image processor on the decoded image + generate(), 20 new tokens with EOS "
            "suppressed, greedy and 3 beams; prompt ids given (tokenizing not timed); median wall ms of each "
            "thread count's runs, the faster thread count per step"
        ),
        "reference": {step: v["ms"] for step, v in best.items()},
        "bestThreads": {step: v["threads"] for step, v in best.items()},
        "byThreads": by_threads,
        "measuredAt": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "software": {
            "transformers": first["transformers"],
            "torch": first["torch"],
            "python": platform.python_version(),
            "blas": first["blas"],
            **(
                {"florence2Code": sha256(os.path.join(florence_code, "modeling_florence2.py"))}
                if arch == "florence-2"
                else {}
            ),
        },
        "runs": args.runs,
        "image": os.path.relpath(args.image, REPO),
        "fixtureCheck": "passed",
    }
    out = args.out or os.path.join(HERE, f"reference-{arch}.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    log(f"wrote {out}")
    print(json.dumps(report, indent=2))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["check", "time", "_measure"])
    p.add_argument("arches", nargs="*", metavar="ARCH")
    p.add_argument("--transformers", help="folder holding transformers/ (v4.40.2 source)")
    p.add_argument("--florence2-code", help="folder holding Florence-2's modeling_florence2.py")
    p.add_argument("--threads", default="1,2", help="torch thread counts, each in its own process (default 1,2)")
    p.add_argument("--threads-one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--runs", type=int, default=3, help="timed runs per step; the figure is the median (default 3)")
    p.add_argument("--model", help="checkpoint folder (default: the bench's folder in the temp dir)")
    p.add_argument("--image", default=DEFAULT_IMAGE, help="image to caption (default: the bench's)")
    p.add_argument("--out", help="JSON report (default: bench/hf/reference-ARCH.json)")
    args = p.parse_intermixed_args(argv)
    for a in args.arches:
        if a not in ARCHES:
            p.error(f"unknown architecture {a}: one of {', '.join(ARCHES)}")
    if args.transformers:
        args.transformers = os.path.abspath(args.transformers)
    if args.florence2_code:
        args.florence2_code = os.path.abspath(args.florence2_code)
    return {"check": check, "time": time_arch, "_measure": measure}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
