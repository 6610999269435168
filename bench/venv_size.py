"""What each installed distribution weighs (from its RECORD) and what only ray[default] needs:
    .venv/bin/python bench/venv_size.py pyproject.toml
"""
import importlib.metadata as md, re, sys
from pathlib import Path
from packaging.requirements import Requirement
from packaging.markers import default_environment

dists = {}
for d in md.distributions():
    name = re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
    dists[name] = d

def size(d):
    total = 0
    for f in d.files or []:
        p = Path(d.locate_file(f))
        try:
            total += p.stat().st_size
        except OSError:
            pass
    return total

def reqs(name, extras=()):
    d = dists.get(name)
    if not d: return set()
    out = set()
    for r in d.requires or []:
        req = Requirement(r)
        env = default_environment()
        ok = False
        if req.marker is None: ok = True
        else:
            for e in ("",) + tuple(extras):
                env["extra"] = e
                if req.marker.evaluate(env): ok = True
        if ok:
            out.add((re.sub(r"[-_.]+", "-", req.name).lower(), tuple(req.extras)))
    return out

def closure(roots):
    seen = set(); stack = list(roots)
    while stack:
        n, ex = stack.pop()
        if (n, ex) in seen: continue
        seen.add((n, ex))
        for r in reqs(n, ex):
            stack.append(r)
    return {n for n, _ in seen if n in dists}

import tomllib
meta = tomllib.loads(Path(sys.argv[1]).read_text())["project"]
def parse(specs):
    out = []
    for spec in specs:
        r = Requirement(spec)
        out.append((re.sub(r"[-_.]+", "-", r.name).lower(), tuple(r.extras)))
    return out
core_roots = parse(meta["dependencies"] + meta["optional-dependencies"]["test"])
core = closure(core_roots) | {"shenbao"}
with_ray = closure(core_roots + [("ray", ("default",))])
ray_only = with_ray - core
sizes = {n: size(d) for n, d in dists.items()}
MB = 1 << 20
print(f"all installed: {sum(sizes.values())/MB:.0f} MB in {len(sizes)} distributions")
print(f"core (shenbao[test]) closure: {sum(sizes[n] for n in core)/MB:.0f} MB")
print(f"only for ray[default]: {sum(sizes[n] for n in ray_only)/MB:.0f} MB: " +
      ", ".join(f"{n} {sizes[n]/MB:.0f}" for n in sorted(ray_only, key=lambda n: -sizes[n])[:12]))
other = set(dists) - with_ray - {"shenbao"}
print(f"installed but needed by neither: {sum(sizes[n] for n in other)/MB:.0f} MB: " +
      ", ".join(f"{n} {sizes[n]/MB:.0f}" for n in sorted(other, key=lambda n: -sizes[n])[:12]))
print("largest core:", ", ".join(f"{n} {sizes[n]/MB:.0f}" for n in sorted(core, key=lambda n: -sizes[n])[:12]))
