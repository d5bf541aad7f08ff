#!/usr/bin/env node
// CPython oracle for pycompile-worker: runs real CPython (pyodide, WebAssembly)
// under Node, offline, to produce reference .pyc files and compare ours to them.
//
// Usage:  node oracle.mjs [--target 3.12|3.13|3.14|3.15] VERB [options]
//         (default target 3.14; each invocation starts CPython once, ~2.5 s)
//
//   info                          print {"version","hexversion","magic",...} as JSON
//   corpus --out DIR              extract every *.py of the target's python_stdlib.zip
//                                 into DIR (made if missing); print the count
//   compile --manifest M.json [--results R.json]
//   syntax-errors ...             same as compile
//         M.json: {"jobs": [{"src", "pyc", "dfile", "optimize", "invalidation_mode"}]}
//         (or a bare array). Runs py_compile.compile(src, pyc, dfile=dfile,
//         doraise=True, optimize=optimize (default -1),
//         invalidation_mode=checked_hash|unchecked_hash|timestamp (default checked_hash)).
//         Result per job, same order: {"ok": true} or {"ok": false,
//         "exception": "PyCompileError", "exc_type": "SyntaxError",
//         "error": str(PyCompileError)}; other exceptions (e.g. OSError) give their
//         type name and str(); a WebAssembly crash gives "exception": "OracleCrash"
//         (the interpreter is then restarted for the remaining jobs).
//   tokens --manifest M.json [--results R.json]
//         M.json: {"jobs": [{"src"}]}. Per job, the token stream the parser pulls from
//         CPython's C tokenizer (_tokenize.TokenizerIter, extra_tokens=False):
//         {"tokens": "NAME sl sc el ec\n..." (columns in characters, -1 where the token
//         has none), "error": null | {"type","msg","lineno","offset","end_lineno",
//         "end_offset"}, "compile_error": the same for compile() when "error" is set},
//         or {"undecodable"}.
//   compare --manifest M.json [--results R.json]
//         M.json: {"jobs": [{"ours": PYC, "reference": PYC}]}. Result per job:
//         {"identical_bytes", "equal_headers", "equal_objects", "has_frozenset",
//          "identical_modulo_frozenset_order", "identical_modulo_oracle_intern_state",
//          "intern_state": null | {"strings", "positions", "reason"?},
//          "diff": null | "co_consts[3].co_qualname: 'a' != 'b'; ..."}
//         Objects are compared by every co_* attribute, recursively, constants
//         type-exactly (floats/complex by repr, frozensets as sets). When objects are
//         equal but bytes differ, "diff" names the first differing marshal token.
//         identical_modulo_oracle_intern_state: the bytes differ only in how strings
//         are interned/shared (z/Z, a/A, u/t, FLAG_REF, back-references and their
//         numbering), ours interned where the reference is not, and every such string
//         was already interned in the oracle process before compiling (probed before
//         anything is unmarshalled); see oracle_impl.py.
//   run --pyc FILE                check the magic, unmarshal, exec as __main__; copy the
//                                 program's stdout/stderr; exit with its status
//                                 (2 = bad magic)
//   run --manifest M.json [--results R.json]
//         M.json: {"jobs": [{"pyc"}]}; runs each in turn in the same interpreter;
//         result per job: {"status", "stdout", "stderr"}
//
// Results go to --results FILE, or to stdout as one JSON document
// {"target", "python", "magic", "results": [...]}. Timings go to stderr.
// Host directories are visible inside CPython at the same paths (NODEFS mounts of
// the top-level directories that the given paths and the cwd live in; add more
// with --mount PATH, repeatable, e.g. for files a `run` program opens).
// CPython runs with PYTHONHASHSEED=0, as rules_python runs its precompiler.
// Caveats: the WebAssembly CPython is 32-bit: str hashes (and the in-memory order of
// sets) differ from 64-bit CPython, but marshal writes set elements sorted by their
// own marshal bytes, so pycs do not depend on it (checked: native 64-bit 3.13.0 and
// this 3.13.2 write identical bytes for stdlib files whose sets iterate differently).
// Deep recursion can crash it.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TARGETS = { '3.12': 'pyodide-312', '3.13': 'pyodide-313', '3.14': 'pyodide-314', '3.15': 'pyodide-315' };
const RESERVED = new Set(['lib', 'dev', 'proc']); // pyodide's own directories

function die(msg, code = 2) {
  process.stderr.write(`oracle: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { target: '3.14', mount: [] };
  let verb = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const key = a.slice(2);
      if (!['target', 'out', 'manifest', 'results', 'pyc', 'mount'].includes(key)) die(`unknown option ${a}`);
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      if (key === 'mount') opts.mount.push(argv[++i]);
      else opts[key] = argv[++i];
    } else if (verb === null) {
      verb = a;
    } else {
      die(`unexpected argument ${a}`);
    }
  }
  if (!verb) die('no verb given (info|corpus|compile|syntax-errors|compare|tokens|run)');
  if (!TARGETS[opts.target]) die(`unknown --target ${opts.target} (3.12|3.13|3.14|3.15)`);
  return { verb, opts };
}

function packageDir(target) {
  const dir = path.join(HERE, 'node_modules', TARGETS[target]);
  if (!fs.existsSync(path.join(dir, 'pyodide.mjs'))) {
    die(`${dir} is missing: run \`npm ci\` in ${HERE}`);
  }
  return dir;
}

class Oracle {
  constructor(target, hostPaths) {
    this.target = target;
    this.dir = packageDir(target);
    const roots = new Set();
    const topOf = (p) => path.resolve(p).split(path.sep).filter(Boolean)[0];
    for (const p of [process.cwd(), ...hostPaths]) {
      roots.add(topOf(p));
      roots.add(topOf(resolveHost(p))); // where symlinks lead (see resolveHost)
    }
    roots.delete(undefined);
    for (const r of roots) {
      if (RESERVED.has(r)) die(`cannot expose host /${r} (pyodide uses that path)`);
    }
    this.roots = [...roots];
    this.py = null;
    this.loadSeconds = 0;
    this.restarts = 0;
  }

  async start() {
    const t0 = Date.now();
    const mod = await import(pathToFileURL(path.join(this.dir, 'pyodide.mjs')).href);
    const py = await mod.loadPyodide({
      indexURL: this.dir + path.sep,
      env: { PYTHONHASHSEED: '0', HOME: '/home/pyodide' },
      stdout: (s) => process.stderr.write(`[python stdout] ${s}\n`),
      stderr: (s) => process.stderr.write(`[python stderr] ${s}\n`),
    });
    for (const r of this.roots) {
      const mountPoint = '/' + r;
      if (!py.FS.analyzePath(mountPoint).exists) py.FS.mkdirTree(mountPoint);
      py.FS.mount(py.FS.filesystems.NODEFS, { root: mountPoint }, mountPoint);
    }
    py.runPython(fs.readFileSync(path.join(HERE, 'oracle_impl.py'), 'utf8'));
    this.py = py;
    this.call('setcwd', process.cwd());
    this.info = JSON.parse(this.call('info', {}));
    this.loadSeconds += (Date.now() - t0) / 1000;
  }

  // Calls a Python entry point with a JSON argument; returns its JSON string.
  call(name, arg) {
    const fn = this.py.globals.get(name);
    try {
      return fn(JSON.stringify(arg));
    } finally {
      fn.destroy();
    }
  }

  // Like call(), but a Python exception or an interpreter crash becomes a result
  // object (and a crash restarts the interpreter).
  async callSafe(name, arg) {
    try {
      return JSON.parse(this.call(name, arg));
    } catch (err) {
      if (err && err.constructor && err.constructor.name === 'PythonError') {
        const lines = String(err.message).trim().split('\n');
        return { ok: false, exception: 'OracleError', error: lines[lines.length - 1] };
      }
      process.stderr.write(`oracle: CPython crashed during ${name}(${JSON.stringify(arg)}): ${err}; restarting\n`);
      this.restarts += 1;
      await this.start();
      return { ok: false, exception: 'OracleCrash', error: String(err) };
    }
  }
}

// The path with symlinks resolved (pyodide 0.27's NODEFS cannot follow them),
// for the nearest existing ancestor; with keepLeaf, the last component is kept
// as given (py_compile must still see a target that is itself a symlink).
function resolveHost(p, keepLeaf = false) {
  const abs = path.resolve(p);
  const base = keepLeaf ? path.dirname(abs) : abs;
  let existing = base;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  let real;
  try {
    real = path.join(fs.realpathSync(existing), path.relative(existing, base));
  } catch {
    return p;
  }
  return keepLeaf ? path.join(real, path.basename(abs)) : real;
}

// Same semantics as the job says, with host paths resolved (see resolveHost).
// py_compile names the file `dfile or src`, so dfile keeps the src as given.
function resolveJob(verb, job) {
  if (verb === 'compare') return { ...job, ours: resolveHost(job.ours), reference: resolveHost(job.reference) };
  if (verb === 'run') return { ...job, pyc: resolveHost(job.pyc) };
  if (verb === 'tokens') return { ...job, src: resolveHost(job.src) };
  return { ...job, src: resolveHost(job.src), dfile: job.dfile ?? job.src, pyc: resolveHost(job.pyc, true) };
}

function readJobs(manifestPath) {
  let data;
  try {
    data = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    die(`cannot read manifest ${manifestPath}: ${err.message}`);
  }
  const jobs = Array.isArray(data) ? data : data.jobs;
  if (!Array.isArray(jobs)) die(`manifest ${manifestPath} has no "jobs" array`);
  return jobs;
}

function emit(opts, oracle, results) {
  const doc = { target: oracle.target, python: oracle.info.version, magic: oracle.info.magic, results };
  const text = JSON.stringify(doc, null, 1) + '\n';
  if (opts.results) fs.writeFileSync(opts.results, text);
  else process.stdout.write(text);
}

async function main() {
  const { verb, opts } = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  let jobs = [];
  const hostPaths = [...opts.mount];
  if (['compile', 'syntax-errors', 'compare', 'tokens'].includes(verb)) {
    if (!opts.manifest) die(`${verb} needs --manifest`);
    jobs = readJobs(opts.manifest);
    const keys = verb === 'compare' ? ['ours', 'reference'] : verb === 'tokens' ? ['src'] : ['src', 'pyc'];
    for (const j of jobs) for (const k of keys) {
      if (typeof j[k] !== 'string') die(`every job needs a string "${k}": ${JSON.stringify(j)}`);
      hostPaths.push(j[k]);
    }
  } else if (verb === 'corpus') {
    if (!opts.out) die('corpus needs --out DIR');
    fs.mkdirSync(opts.out, { recursive: true });
    hostPaths.push(opts.out, packageDir(opts.target));
  } else if (verb === 'run' && opts.manifest) {
    jobs = readJobs(opts.manifest);
    for (const j of jobs) {
      if (typeof j.pyc !== 'string') die(`every job needs a string "pyc": ${JSON.stringify(j)}`);
      hostPaths.push(j.pyc);
    }
  } else if (verb === 'run') {
    if (!opts.pyc) die('run needs --pyc FILE or --manifest M.json');
    hostPaths.push(opts.pyc);
  } else if (verb !== 'info') {
    die(`unknown verb ${verb}`);
  }

  const oracle = new Oracle(opts.target, hostPaths);
  await oracle.start();
  const tWork = Date.now();

  if (verb === 'info') {
    process.stdout.write(JSON.stringify({ target: opts.target, ...oracle.info }) + '\n');
  } else if (verb === 'corpus') {
    const zip = path.join(oracle.dir, 'python_stdlib.zip');
    const res = JSON.parse(oracle.call('corpus', { zip, out: path.resolve(opts.out) }));
    process.stdout.write(`${res.count}\n`);
  } else if (verb === 'run' && opts.manifest) {
    const results = [];
    for (const job of jobs) results.push(await oracle.callSafe('run_pyc', { pyc: resolveHost(job.pyc) }));
    emit(opts, oracle, results);
  } else if (verb === 'run') {
    const res = JSON.parse(oracle.call('run_pyc', { pyc: resolveHost(opts.pyc) }));
    process.stdout.write(res.stdout);
    process.stderr.write(res.stderr);
    process.exitCode = res.status;
  } else {
    const fn = verb === 'compare' ? 'compare_one' : verb === 'tokens' ? 'tokens_one' : 'compile_one';
    // Probe the intern state of candidate strings before anything is unmarshalled
    // (see "oracle intern state" in oracle_impl.py).
    if (verb === 'compare') oracle.call('intern_prepass', jobs.map((j) => resolveJob(verb, j)));
    const results = [];
    for (const job of jobs) results.push(await oracle.callSafe(fn, resolveJob(verb, job)));
    emit(opts, oracle, results);
  }
  const secs = (ms) => (ms / 1000).toFixed(1);
  process.stderr.write(
    `oracle: ${verb} target=${opts.target} (CPython ${oracle.info.version}) jobs=${jobs.length} ` +
    `start=${oracle.loadSeconds.toFixed(1)}s work=${secs(Date.now() - tWork)}s total=${secs(Date.now() - t0)}s` +
    (oracle.restarts ? ` restarts=${oracle.restarts}` : '') + '\n');
}

await main();
