#!/usr/bin/env node
// Runs a Python script inside the oracle's CPython (pyodide under Node), for generators that
// must read CPython's own behaviour rather than the host Python's.
//
//   node tools/oracle_python.mjs 3.12|3.13|3.14|3.15 SCRIPT.py [ARG ...]
//
// The script sees its arguments as the list ARGS; /work and /tmp of the host are mounted at
// the same paths, and the working directory is the current one. Exit status: the script's
// SystemExit code, 0 when it ends normally, 1 on an exception.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const [target, script, ...args] = process.argv.slice(2);
if (!target || !script) {
  process.stderr.write('usage: oracle_python.mjs TARGET SCRIPT.py [ARG ...]\n');
  process.exit(2);
}
const dir = path.join(HERE, '..', 'tests', 'oracle', 'node_modules', `pyodide-${target.replace('.', '')}`);
const mod = await import(pathToFileURL(path.join(dir, 'pyodide.mjs')).href);
const py = await mod.loadPyodide({
  indexURL: dir + path.sep,
  env: { PYTHONHASHSEED: '0' },
  stdout: (s) => process.stdout.write(s + '\n'),
  stderr: (s) => process.stderr.write(s + '\n'),
});
const roots = new Set(['tmp', path.resolve(process.cwd()).split(path.sep).filter(Boolean)[0],
  path.resolve(script).split(path.sep).filter(Boolean)[0]]);
for (const r of roots) {
  if (!py.FS.analyzePath('/' + r).exists) py.FS.mkdirTree('/' + r);
  py.FS.mount(py.FS.filesystems.NODEFS, { root: '/' + r }, '/' + r);
}
py.globals.set('ARGS', py.toPy(args));
py.runPython(`import os; os.chdir(${JSON.stringify(process.cwd())})`);
py.globals.set("__file__", path.resolve(script));
try {
  py.runPython(fs.readFileSync(script, 'utf8'), { filename: path.resolve(script) });
  process.exit(0);
} catch (error) {
  const match = /SystemExit: (\d+)/.exec(String(error));
  if (match) process.exit(Number(match[1]));
  process.stderr.write(String(error) + '\n');
  process.exit(1);
}
