// SPDX-License-Identifier: MIT
// Real proxies in front of rtkd, configured from the documentation: a fenced block of a file
// in docs/ taken as written (only addresses, ports and paths swapped), run in the foreground
// on a free loopback port with everything it writes in a temporary folder. Used by
// 85-tls-proxy (docs/deploy.md) and the cluster tests (docs/cluster.md).

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { REPO, sleep } from './rtkd.js';

export function sh(cmd, args) {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout)));
    });
}

/* The path of TOOL (also in /usr/sbin, which root's PATH may lack), or null. */
export async function which(tool) {
    try {
        return (await sh('sh', ['-c', `command -v ${tool} || { test -x /usr/sbin/${tool} && echo /usr/sbin/${tool}; }`])).trim() || null;
    } catch {
        return null;
    }
}

/* The ```LANG block of docs/DOC with only the SWAPS ([from, to]; from is a string or a RegExp
 * that must match) made. */
export async function docBlock(doc, lang, swaps = []) {
    const md = await readFile(path.join(REPO, 'docs', doc), 'utf8');
    const m = md.match(new RegExp(`^\`\`\`${lang}\n([\\s\\S]*?)^\`\`\`$`, 'm'));
    assert.ok(m, `docs/${doc} has no \`\`\`${lang} block`);
    let conf = m[1];
    for (const [from, to] of swaps) {
        const found = typeof from === 'string' ? conf.includes(from) : from.test(conf);
        assert.ok(found, `the ${lang} block of docs/${doc} no longer has "${from}"`);
        conf = conf.replace(from, to);
    }
    return conf;
}

/* Whether something accepts connections on 127.0.0.1:PORT. */
export function accepts(port) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
    });
}

/* nginx's main configuration around an http-context BLOCK: one process in the foreground
 * (no worker user switch), its pid, logs and temp paths in DIR. opts.accessLog names a file
 * for the access log (off by default). */
export function nginxConf(dir, block, { accessLog = null } = {}) {
    return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log ${accessLog || 'off'};
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${block}
}
`;
}

/* Writes nginxConf(DIR, BLOCK) and starts nginx (BIN) on it. */
export async function spawnNginx(bin, dir, block, opts) {
    await writeFile(path.join(dir, 'nginx.conf'), nginxConf(dir, block, opts));
    return spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/* Waits until CHILD (a proxy just spawned, NAME for messages) accepts on PORT. */
export async function awaitListening(child, name, port) {
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    for (let i = 0; ; i++) {
        if (await accepts(port)) return child;
        if (child.exitCode !== null || i > 100) throw new Error(`${name} did not start:\n${err}`);
        await sleep(50);
    }
}

/* SIGTERM, SIGKILL after 5 s; resolves once CHILD has exited. */
export async function stopChild(child) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
}
