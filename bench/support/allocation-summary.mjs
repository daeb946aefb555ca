// Text summary of a .heapprofile written by allocation-profiler.mjs: the total, the functions that
// allocate most themselves, and the modules under whose calls most is allocated (a module counts once
// per stack).
//   node bench/support/allocation-summary.mjs <file.heapprofile> [top=30]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/support/allocation-summary.mjs <file.heapprofile> [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const moduleOf = (url) => {
  if (!url) return '(native)';
  const inPackage = url.split('node_modules/');
  if (inPackage.length > 1) {
    const parts = inPackage.at(-1).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '');
};
const self = new Map();
const inclusive = new Map();
let total = 0;
const add = (map, key, size) => map.set(key, (map.get(key) ?? 0) + size);
const walk = (node, modules) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const here = url ? new Set(modules).add(moduleOf(url)) : modules;
  if (node.selfSize > 0) {
    total += node.selfSize;
    add(self, `${functionName || '(anonymous)'} ${moduleOf(url)}:${lineNumber + 1}`, node.selfSize);
    for (const m of here.size ? here : ['(native, called from the event loop)']) add(inclusive, m, node.selfSize);
  }
  for (const child of node.children ?? []) walk(child, here);
};
walk(profile.head, new Set());
const mb = (n) => (n / 1048576).toFixed(1).padStart(8);
const list = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${mb(total)} MB allocated in all`);
console.log('\nallocated by the function itself (MB):');
for (const [key, size] of list(self)) console.log(`${mb(size)}  ${key}`);
console.log('\nallocated under calls of the module (MB):');
for (const [key, size] of list(inclusive)) console.log(`${mb(size)}  ${key}`);
