// SPDX-License-Identifier: MIT
// Install and service (issue 17, item 3): the man page is what scripts/gen-man.sh writes from
// `rtkd --help` (so the two cannot drift), `make install DESTDIR=…` produces the tree
// docs/deploy.md documents, and `systemd-analyze verify` accepts the installed unit.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, tempDir, REPO, RTKD_BIN } from '../lib/rtkd.js';

function run(cmd, args, opts = {}) {
    return new Promise((resolve) => {
        execFile(cmd, args, { maxBuffer: 1 << 24, timeout: 600000, ...opts }, (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, err });
        });
    });
}

async function tree(root, dir = root) {
    const out = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...await tree(root, p));
        else out.push(`${path.relative(root, p)} ${((await stat(p)).mode & 0o777).toString(8)}`);
    }
    return out.sort();
}

test('contrib/rtkd.1 is what scripts/gen-man.sh writes from rtkd --help', async () => {
    const r = await run(path.join(REPO, 'scripts', 'gen-man.sh'), [RTKD_BIN]);
    assert.equal(r.code, 0, r.stderr);
    const committed = await readFile(path.join(REPO, 'contrib', 'rtkd.1'), 'utf8');
    assert.equal(r.stdout, committed,
        'contrib/rtkd.1 is out of date: run `make man` (scripts/gen-man.sh build/rtkd > contrib/rtkd.1)');
    for (const opt of ['--listen', '--log-format', '--max-connections-per-ip', 'token revoke']) {
        assert.ok(committed.includes(opt.replaceAll('-', '\\-')), `the man page lacks ${opt}`);
    }
});

let staged; // {dir, prefix} of the /usr/local install, for the verify test

test('make install PREFIX=/usr/local DESTDIR=… produces the documented tree', { timeout: 600000 },
    async () => {
        const dir = await tempDir('rtkd-install-');
        const r = await run('make', ['-C', REPO, '--no-print-directory', 'install',
            'PREFIX=/usr/local', `DESTDIR=${dir}`]);
        assert.equal(r.code, 0, `make install failed:\n${r.stdout}\n${r.stderr}`);
        assert.deepEqual(await tree(dir), [
            'usr/local/bin/rtkd 755',
            'usr/local/lib/systemd/system/rtkd.service 644',
            'usr/local/lib/sysusers.d/rtkd.conf 644',
            'usr/local/share/man/man1/rtkd.1 644',
        ]);
        const v = await run(path.join(dir, 'usr/local/bin/rtkd'), ['--version']);
        assert.match(v.stdout, /^rtkd \d+\.\d+\.\d+\n$/);
        const unit = await readFile(path.join(dir, 'usr/local/lib/systemd/system/rtkd.service'), 'utf8');
        assert.match(unit, /^ExecStart=\/usr\/local\/bin\/rtkd serve$/m);
        for (const key of ['User=rtkd', 'StateDirectory=rtkd', 'ProtectSystem=strict',
            'NoNewPrivileges=yes', 'LimitNOFILE=']) {
            assert.ok(unit.includes(key), `the unit lacks ${key}`);
        }
        assert.ok(!/^ExecReload=/m.test(unit), 'rtkd has no reload: no ExecReload');
        staged = { dir };

        /* Another prefix: the unit points at that binary. */
        const opt = await tempDir('rtkd-install-opt-');
        const r2 = await run('make', ['-C', REPO, '--no-print-directory', 'install',
            'PREFIX=/opt/rtkd', `DESTDIR=${opt}`]);
        assert.equal(r2.code, 0, r2.stderr);
        const unit2 = await readFile(path.join(opt, 'opt/rtkd/lib/systemd/system/rtkd.service'), 'utf8');
        assert.match(unit2, /^ExecStart=\/opt\/rtkd\/bin\/rtkd serve$/m);
        await rm(opt, { recursive: true, force: true });
    });

test('systemd-analyze verify accepts the installed unit', async (t) => {
    const which = await run('sh', ['-c', 'command -v systemd-analyze']);
    if (which.code !== 0) {
        t.skip('systemd-analyze is not installed (scripts/bootstrap.sh installs it)');
        return;
    }
    assert.ok(staged, 'the install test did not run');
    /* verify checks that ExecStart exists and that Documentation= resolves: point them at the
     * staged tree (the unit itself is unchanged otherwise). */
    const unit = await readFile(path.join(staged.dir, 'usr/local/lib/systemd/system/rtkd.service'), 'utf8');
    const file = path.join(staged.dir, 'rtkd.service');
    await writeFile(file, unit.replace('ExecStart=/usr/local/bin/rtkd',
        `ExecStart=${staged.dir}/usr/local/bin/rtkd`));
    const r = await run('systemd-analyze', ['verify', file], {
        cwd: staged.dir,
        env: { ...process.env, MANPATH: path.join(staged.dir, 'usr/local/share/man') },
    });
    assert.equal(r.code, 0, `systemd-analyze verify failed:\n${r.stderr}`);
    assert.equal(r.stderr.trim(), '', `systemd-analyze verify complained:\n${r.stderr}`);
    await rm(staged.dir, { recursive: true, force: true });
});
