"""Benchmark: what running script tasks in a sandbox process costs per script.

In one run, each round runs the same scripts in this process (CompiledScript.run_in_process,
the sandbox's checks between Python steps only) and in the sandbox process (CompiledScript.run,
what script tasks do), in turn; prints the median per-script time of each, the extra time per
script and the median of the rounds' ratios, for a small script on a few variables and for one
on an order of 1,000 lines. Also times starting a sandbox (once per worker process, and after a
script hit a limit).
Run:  python bench/bench_scripts.py [--rounds N] [--scripts N]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.sandbox.scripts import compile_script, current_limits, process_pool  # noqa: E402

SMALL = ("total = price * quantity\n"
         "discount = 0.1 if customer['tier'] == 'gold' else 0\n"
         "label = f\"{quantity} x {sku}\"")
ORDER = ("total = 0\n"
         "for line in order['lines']:\n"
         "    total += line['price'] * line['qty']\n"
         "order['total'] = total\n"
         "skus = [line['sku'] for line in order['lines'] if line['qty'] > 1]")
CASES = {
    "small script, 4 variables": (SMALL, {"price": 12.5, "quantity": 3, "sku": "A-1",
                                          "customer": {"tier": "gold", "name": "Ada"}}),
    "order of 1,000 lines": (ORDER, {"order": {"id": "o-1", "lines": [
        {"sku": f"S-{n}", "price": n % 97 + 0.5, "qty": n % 4} for n in range(1000)]}}),
}


def per_script(run, variables, count):
    started = time.perf_counter()
    for _ in range(count):
        run(variables)
    return (time.perf_counter() - started) / count


def measure_start(times):
    limits = current_limits()
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        sandbox = process_pool._Sandbox(limits.memory_bytes)
        durations.append(time.perf_counter() - started)
        sandbox.stop()
    return statistics.median(durations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--scripts", type=int, default=300, help="scripts per round and way")
    args = parser.parse_args()
    for name, (text, variables) in CASES.items():
        script = compile_script(text)
        assert script.run(variables) == script.run_in_process(variables)  # also starts the sandbox
        here, there, ratios = [], [], []
        for _ in range(args.rounds):
            here.append(per_script(script.run_in_process, variables, args.scripts))
            there.append(per_script(script.run, variables, args.scripts))
            ratios.append(there[-1] / here[-1])
        in_process, sandboxed = statistics.median(here), statistics.median(there)
        print(f"{name}: in process {in_process * 1e3:.3f} ms, sandbox process {sandboxed * 1e3:.3f} ms, "
              f"+{(sandboxed - in_process) * 1e3:.3f} ms per script, "
              f"ratio {statistics.median(ratios):.2f} (median of {args.rounds} rounds)")
    print(f"starting a sandbox process: {measure_start(5) * 1e3:.0f} ms (median of 5)")


if __name__ == "__main__":
    main()
