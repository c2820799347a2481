import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderServices } from './service-graph.js';

const graph = (entries: Record<string, string[]>) => new Map(Object.entries(entries));

test('dependencies come before their dependents', () => {
  const { order, cycles } = orderServices(
    graph({ web: ['api'], api: ['db', 'cache'], db: [], cache: [], worker: ['db'] }),
  );
  assert.deepEqual(cycles, []);
  assert.deepEqual(order, ['db', 'cache', 'api', 'web', 'worker']);
});

test('independent services keep the order they are written in', () => {
  assert.deepEqual(orderServices(graph({ c: [], a: [], b: [] })).order, ['c', 'a', 'b']);
});

test('a two-service cycle is reported closed, from the first service written', () => {
  const { order, cycles } = orderServices(graph({ a: ['b'], b: ['a'], c: [] }));
  assert.deepEqual(cycles, [['a', 'b', 'a']]);
  assert.deepEqual(order, ['c']);
});

test('a longer cycle is reported once; services merely depending on it are not blamed', () => {
  const { cycles } = orderServices(graph({ top: ['x'], x: ['y'], y: ['z'], z: ['x'] }));
  assert.deepEqual(cycles, [['x', 'y', 'z', 'x']]);
});

test('two separate cycles are both reported', () => {
  const { cycles } = orderServices(graph({ a: ['b'], b: ['a'], c: ['d'], d: ['c'] }));
  assert.deepEqual(cycles, [
    ['a', 'b', 'a'],
    ['c', 'd', 'c'],
  ]);
});
