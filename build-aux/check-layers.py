#!/usr/bin/env python3
"""The house's fitness function: no cycle between the modules of src/.

Reads the built objects with nm: module A depends on module B when A's
object uses a symbol (a function or a variable) that B's object defines.
Every strongly connected component of more than one module is a cycle;
each is printed with one concrete path round it and the symbols on each
edge, and the check fails.

    check-layers.py [--graph] OBJECT...

--graph prints the whole dependency graph (module: the modules it uses),
lowest layer first, whether or not there is a cycle.
"""
import os
import re
import subprocess
import sys


def module_name(path):
    """src/libauthgw_a-session.o -> session; src/authgw-main.o -> main."""
    base = os.path.basename(path)
    base = re.sub(r"\.o(bj)?$", "", base)
    return base.split("-", 1)[1] if "-" in base else base


def symbols(path):
    """(defined, undefined) global symbol names of one object."""
    out = subprocess.run(["nm", "-P", path], check=True,
                         capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRCGSVW":
            defined.add(name)
    return defined, undefined


def build_graph(objects):
    owner, uses = {}, {}
    for obj in objects:
        mod = module_name(obj)
        defined, undefined = symbols(obj)
        for name in defined:
            owner[name] = mod
        uses[mod] = undefined
    graph = {mod: {} for mod in uses}
    for mod, undefined in uses.items():
        for name in undefined:
            dep = owner.get(name)
            if dep is not None and dep != mod:
                graph[mod].setdefault(dep, set()).add(name)
    return graph


def components(graph):
    """Tarjan's strongly connected components, iteratively."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                result.append(sorted(comp))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def one_cycle(graph, comp):
    """A closed path through the component, from its first module."""
    members = set(comp)
    start = comp[0]
    # Breadth-first from start's successors back to start.
    prev = {}
    frontier = [start]
    seen = {start}
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for dep in sorted(graph[node]):
                if dep not in members:
                    continue
                if dep == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    path.reverse()
                    return path + [start]
                if dep not in seen:
                    seen.add(dep)
                    prev[dep] = node
                    nxt_frontier.append(dep)
        frontier = nxt_frontier
    return comp


def layers(graph):
    """Modules by height: 0 uses nothing of ours (acyclic graphs only)."""
    height = {}

    def h(node, trail=()):
        if node in height:
            return height[node]
        if node in trail:
            return 0
        deps = [h(d, trail + (node,)) for d in graph[node]]
        height[node] = 1 + max(deps) if deps else 0
        return height[node]

    for node in graph:
        h(node)
    return height


def main(argv):
    show = "--graph" in argv
    objects = [a for a in argv if not a.startswith("--")]
    if not objects:
        print("usage: check-layers.py [--graph] OBJECT...", file=sys.stderr)
        return 64
    graph = build_graph(objects)
    if show:
        height = layers(graph)
        for mod in sorted(graph, key=lambda m: (height[m], m)):
            print("%2d %-16s -> %s" % (height[mod], mod,
                                       " ".join(sorted(graph[mod]))))
    cycles = [c for c in components(graph) if len(c) > 1]
    for comp in cycles:
        path = one_cycle(graph, comp)
        print("cycle among %d modules: %s" % (len(comp), " ".join(comp)))
        for a, b in zip(path, path[1:]):
            print("  %s -> %s  (%s)" % (a, b,
                                        ", ".join(sorted(graph[a][b]))))
    edges = sum(len(v) for v in graph.values())
    if cycles:
        print("layers: %d modules, %d edges, %d cycle(s)" %
              (len(graph), edges, len(cycles)))
        return 1
    print("layers: %d modules, %d edges, no cycle" % (len(graph), edges))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
