/**
 * The dependency graph of services (`dependsOn`): a restore and a drill bring services back
 * dependencies first (ARCHITECTURE.md, "Drill"), so the plan carries that order once,
 * computed here, rather than every consumer sorting for itself.
 */

export interface ServiceOrder {
  /** Each service after all of its dependencies; complete only when `cycles` is empty. */
  order: string[];
  /**
   * Each cycle found, closed: [a, b, a] means a depends on b and b depends on a. The last
   * edge (b → a) is the one that closed the cycle during the search.
   */
  cycles: string[][];
}

/**
 * Orders services so that dependencies come first. Among services whose dependencies are all
 * placed, the one written first in the plan goes first, so the order is stable and
 * predictable. `dependsOn` must name only keys of the map and never the service itself
 * (compile-plan checks those before calling).
 */
export function orderServices(dependsOn: ReadonlyMap<string, readonly string[]>): ServiceOrder {
  const names = [...dependsOn.keys()];
  const placed = new Set<string>();
  const order: string[] = [];
  while (order.length < names.length) {
    const next = names.find(
      (name) => !placed.has(name) && (dependsOn.get(name) ?? []).every((d) => placed.has(d)),
    );
    if (next === undefined) break;
    placed.add(next);
    order.push(next);
  }
  const cycles = order.length === names.length ? [] : findCycles(dependsOn, names, placed);
  return { order, cycles };
}

/** Depth-first search over the services that could not be placed; each back edge is a cycle. */
function findCycles(
  dependsOn: ReadonlyMap<string, readonly string[]>,
  names: readonly string[],
  placed: ReadonlySet<string>,
): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>(placed);
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (name: string): void => {
    stack.push(name);
    onStack.add(name);
    for (const dep of dependsOn.get(name) ?? []) {
      if (onStack.has(dep)) cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (!done.has(dep)) visit(dep);
    }
    stack.pop();
    onStack.delete(name);
    done.add(name);
  };
  for (const name of names) if (!done.has(name)) visit(name);
  return cycles;
}
