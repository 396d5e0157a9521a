// Harness for the end-to-end tests: starts the real `canal` binary on a
// fresh data directory, waits (bounded) for its "listening on" line and
// exposes the admin CLI. Not a test file (lives in lib/, which `node --test`
// does not pick up: only *.test.mjs files are run).
//
//   const env = useServer();            // registers before/after hooks
//   test('x', async () => { env.srv.base ... env.fx.alice.client ... });
//
// On any failed test in the file (or a crash / unclean shutdown) the
// server's captured stderr is printed.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after, afterEach, beforeEach, test as nodeTest } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');

export function canalBin() {
	const b = process.env.CANAL_BIN || path.join(repoRoot, 'build/canal');
	return path.resolve(repoRoot, b);
}

// ASan builds are several times slower: keep the bounds generous but finite.
export const START_TIMEOUT_MS = Number(process.env.CANAL_START_TIMEOUT_MS || 30000);
export const STOP_TIMEOUT_MS = Number(process.env.CANAL_STOP_TIMEOUT_MS || 15000);
export const CLI_TIMEOUT_MS = Number(process.env.CANAL_CLI_TIMEOUT_MS || 30000);
export const TEST_TIMEOUT_MS = Number(process.env.CANAL_TEST_TIMEOUT_MS || 120000);

// node:test's test() with a bounded run time, so a hung server fails the
// test instead of hanging the suite.
export function test(name, fn) {
	return nodeTest(name, { timeout: TEST_TIMEOUT_MS }, fn);
}
const STDERR_TAIL = 40000;

const live = new Set(); // child processes still running (killed on exit no matter what)
process.on('exit', () => {
	for (const c of live) {
		try { c.kill('SIGKILL'); } catch { /* already gone */ }
	}
});

const LISTEN_RE = /listening on (http:\/\/127\.0\.0\.1:(\d+))/;

export class CanalServer {
	constructor({ dataDir, extraArgs = [], ownsDataDir = true } = {}) {
		this.dataDir = dataDir;
		this.extraArgs = extraArgs;
		this.ownsDataDir = ownsDataDir;
		this.stderr = ''; // all starts concatenated
		this.child = null;
		this.base = null;
		this.port = null;
		this.unexpectedExit = null; // {code, signal} if it died on its own
		this.starts = 0;
	}

	static async create(opts = {}) {
		const dataDir = opts.dataDir || (await mkdtemp(path.join(tmpdir(), 'canal-e2e-')));
		const s = new CanalServer({ ...opts, dataDir, ownsDataDir: !opts.dataDir });
		await s.start();
		return s;
	}

	get running() {
		return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
	}

	stderrTail(n = STDERR_TAIL) {
		return this.stderr.length > n ? '…' + this.stderr.slice(-n) : this.stderr;
	}

	start() {
		if (this.running) throw new Error('canal already running');
		this.starts++;
		const args = ['serve', '--data', this.dataDir, '--listen', '127.0.0.1:0', ...this.extraArgs];
		this.stderr += `\n===== start #${this.starts}: ${canalBin()} ${args.join(' ')} =====\n`;
		const child = spawn(canalBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
		this.child = child;
		this.unexpectedExit = null;
		live.add(child);
		child.stdout.setEncoding('utf8');
		child.stderr.setEncoding('utf8');
		child.stdout.on('data', (d) => { this.stderr += d; }); // keep stdout too (bootstrap info)
		let lineBuf = '';
		return new Promise((resolve, reject) => {
			let done = false;
			const finish = (err) => {
				if (done) return;
				done = true;
				clearTimeout(timer);
				if (err) {
					try { child.kill('SIGKILL'); } catch { /* gone */ }
					err.message += `\n--- canal stderr ---\n${this.stderrTail(8000)}`;
					reject(err);
				} else resolve(this);
			};
			const timer = setTimeout(
				() => finish(new Error(`canal did not print "listening on" within ${START_TIMEOUT_MS} ms`)),
				START_TIMEOUT_MS,
			);
			child.stderr.on('data', (d) => {
				this.stderr += d;
				if (done) return;
				lineBuf += d;
				let nl;
				while ((nl = lineBuf.indexOf('\n')) >= 0) {
					const line = lineBuf.slice(0, nl);
					lineBuf = lineBuf.slice(nl + 1);
					const m = LISTEN_RE.exec(line);
					if (m) {
						this.base = m[1];
						this.port = Number(m[2]);
						finish();
						return;
					}
				}
			});
			child.on('error', (e) => finish(new Error(`cannot spawn ${canalBin()}: ${e.message}`)));
			child.on('exit', (code, signal) => {
				live.delete(child);
				if (!this.stopping) {
					this.unexpectedExit = { code, signal };
					this.stderr += `\n===== canal exited unexpectedly: code=${code} signal=${signal} =====\n`;
				}
				finish(new Error(`canal exited before listening (code=${code} signal=${signal})`));
			});
		});
	}

	// Send sig, wait (bounded) for exit. Resolves {code, signal}.
	async kill(sig = 'SIGTERM') {
		const child = this.child;
		if (!child) return { code: null, signal: null };
		if (child.exitCode !== null || child.signalCode !== null) {
			return { code: child.exitCode, signal: child.signalCode };
		}
		this.stopping = true;
		try {
			const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
			child.kill(sig);
			let timer;
			const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS); });
			const r = await Promise.race([exited, timeout]);
			clearTimeout(timer);
			if (r === null) {
				child.kill('SIGKILL');
				await exited;
				throw new Error(`canal did not exit within ${STOP_TIMEOUT_MS} ms of ${sig}`);
			}
			return r;
		} finally {
			this.stopping = false;
		}
	}

	// SIGTERM and require a clean exit (code 0), as the contract says.
	async shutdown() {
		const r = await this.kill('SIGTERM');
		if (r.code !== 0) {
			throw new Error(`canal did not shut down cleanly on SIGTERM: code=${r.code} signal=${r.signal}`);
		}
		return r;
	}

	async restart() {
		await this.shutdown();
		await this.start();
		return this;
	}

	// Final stop: SIGTERM (clean exit required), then remove the data dir.
	async stop({ keepData = false } = {}) {
		try {
			if (this.running) await this.shutdown();
		} finally {
			if (this.ownsDataDir && !keepData) await rm(this.dataDir, { recursive: true, force: true });
		}
	}

	// `canal admin ARGS --data DIR --json` -> parsed JSON of stdout.
	cli(...args) {
		return runCli(this.dataDir, args);
	}
}

export function runCli(dataDir, args) {
	const full = ['admin', ...args, '--data', dataDir, '--json'];
	return new Promise((resolve, reject) => {
		execFile(canalBin(), full, { timeout: CLI_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
			const desc = `canal ${full.join(' ')}`;
			if (err) {
				reject(new Error(`${desc} failed (${err.code ?? err.signal ?? err.message})\nstdout: ${stdout}\nstderr: ${stderr}`));
				return;
			}
			try {
				resolve(JSON.parse(stdout));
			} catch (e) {
				reject(new Error(`${desc}: stdout is not JSON (${e.message})\nstdout: ${stdout}\nstderr: ${stderr}`));
			}
		});
	});
}

// One server per test file. Returns an object filled in by the before hook:
//   env.srv  (CanalServer)   env.fx (fixture from lib/fixture.mjs if fixture:true)
// `setup(env)` runs after the server and the fixture are ready (use it
// instead of a second top-level before(): node 20 does not serialise
// root-level before hooks of a file).
export function useServer({ extraArgs = [], fixture = true, fixtureOpts = {}, setup } = {}) {
	const env = { srv: null, fx: null, failed: false };
	before(async () => {
		env.srv = await CanalServer.create({ extraArgs });
		if (fixture) {
			const { makeFixture } = await import('./fixture.mjs');
			try {
				env.fx = await makeFixture(env.srv, fixtureOpts);
			} catch (e) {
				env.failed = true;
				throw e;
			}
		}
		if (setup) {
			try {
				await setup(env);
			} catch (e) {
				env.failed = true;
				throw e;
			}
		}
	});
	beforeEach(() => {
		const srv = env.srv;
		if (srv && srv.unexpectedExit && !srv.running) {
			throw new Error(`canal died earlier in this file (${JSON.stringify(srv.unexpectedExit)}); its stderr is printed after the file's tests`);
		}
	});
	afterEach((t) => {
		if (!t.passed) env.failed = true;
		if (env.srv && env.srv.unexpectedExit && !env.srv.reportedExit) {
			env.srv.reportedExit = true;
			env.failed = true;
		}
	});
	after(async () => {
		const srv = env.srv;
		if (!srv) return;
		let stopErr = null;
		try {
			await srv.stop({ keepData: env.failed });
		} catch (e) {
			stopErr = e;
			env.failed = true;
		}
		if (env.failed || srv.unexpectedExit) {
			process.stderr.write(
				`\n########## canal stderr (data dir kept: ${srv.dataDir}) ##########\n${srv.stderrTail()}\n########## end canal stderr ##########\n`,
			);
		}
		if (srv.unexpectedExit) {
			throw new Error(`canal died during the tests: ${JSON.stringify(srv.unexpectedExit)}`);
		}
		if (stopErr) throw stopErr;
	});
	return env;
}

// Poll fn() until it returns a truthy value or the bound elapses.
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 25, what = 'condition' } = {}) {
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;) {
		last = await fn();
		if (last) return last;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, intervalMs));
	}
}
