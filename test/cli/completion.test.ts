import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GLOBAL_FLAGS } from '../../pkg/cli/context.js';
import { commands } from '../../pkg/cli/main.js';
import { ORLOJCTL, Orlojd } from '../helpers/orlojd.js';
import { ctl, namespaces, tree, webhookStack } from './ctl.js';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('orlojctl completion', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let script: string;

  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'other');
    for (const [ns, hook] of [['default', 'hook-alpha'], ['default', 'hook-beta'], ['other', 'hook-gamma']] as const) {
      const r = await ctl(d, ['apply', '-f', '-'], { input: webhookStack(ns, hook) });
      expect(r.code, r.stderr).to.equal(0);
    }
    // `orlojctl` on the PATH is this build's, reaching the test server through the environment.
    dir = tree({ 'contexts.json': JSON.stringify({ currentContext: 'here', contexts: { here: {}, there: { namespace: 'other' } } }) });
    writeFileSync(join(dir, 'orlojctl'), `#!/bin/sh\nexec '${process.execPath}' '${ORLOJCTL}' "$@"\n`);
    chmodSync(join(dir, 'orlojctl'), 0o755);
    env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, ORLOJ_SERVER: d.url, ORLOJ_TOKEN: d.token, ORLOJ_CONFIG: join(dir, 'contexts.json') };
    delete env.ORLOJ_NAMESPACE;
    script = join(dir, 'orlojctl.bash');
    const out = await ctl(d, ['completion', 'bash']);
    expect(out.code, out.stderr).to.equal(0);
    writeFileSync(script, out.stdout);
  });
  after(async () => d?.destroy());

  /** What bash completes for the words of a line, the last being the word under the cursor. */
  async function complete(...words: string[]): Promise<string[]> {
    const body = `source '${script}'; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _orlojctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await run('bash', ['-c', body, 'bash', 'orlojctl', ...words], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    return r.stdout.split('\n').filter(Boolean);
  }

  it('completes commands, and kinds by plural, singular and short name', async () => {
    expect(await complete('ap')).to.deep.equal(['apply', 'api-resources']);
    expect(await complete('get', 'task-w')).to.include('task-webhooks');
    expect(await complete('describe', 'tw')).to.deep.equal(['tw']);
    expect(await complete('explain', 'inbound-webhook')).to.include.members(['inbound-webhooks', 'inbound-webhook']);
    expect(await complete('get', 'deliv')).to.deep.equal(['deliveries']);
    expect(await complete('webhook', '')).to.deep.equal(['send', 'rotate-endpoint']);
    expect(await complete('config', 'use')).to.deep.equal(['use-context']);
    expect(await complete('help', 'comp')).to.deep.equal(['completion']);
  });

  it('completes object names from the server, in the namespace the line names', async () => {
    expect(await complete('get', 'task-webhooks', '')).to.deep.equal(['hook-alpha', 'hook-beta']);
    expect(await complete('delete', 'tw', 'hook-b')).to.deep.equal(['hook-beta']);
    expect(await complete('-n', 'other', 'get', 'task-webhooks', '')).to.deep.equal(['hook-gamma']);
    expect(await complete('get', 'task-webhooks', '--namespace=other', '')).to.deep.equal(['hook-gamma']);
    expect(await complete('get', 'task-webhooks', '--namespace', '=', 'other', '')).to.deep.equal(['hook-gamma']);
    expect(await complete('--context', 'there', 'describe', 'tw', '')).to.deep.equal(['hook-gamma']);
    expect(await complete('get', 'tw/hook-a')).to.deep.equal(['tw/hook-alpha']);
    expect(await complete('explain', 'tw', '')).to.deep.equal([]);
  });

  it("completes flags from each command's own flag list, and the values of -n and --context", async () => {
    expect(await complete('apply', '--dr')).to.deep.equal(['--dry-run']);
    expect(await complete('get', 'tasks', '--sel')).to.deep.equal(['--selector']);
    expect(await complete('--cont')).to.deep.equal(['--context']);
    expect(await complete('get', 'tasks', '-n', 'oth')).to.deep.equal(['other']);
    expect(await complete('get', 'tasks', '--namespace=oth')).to.deep.equal(['--namespace=other']);
    // bash splits --namespace=oth at the '=' (COMP_WORDBREAKS).
    expect(await complete('get', 'tasks', '--namespace', '=', 'oth')).to.deep.equal(['other']);
    expect(await complete('--context', '')).to.deep.equal(['here', 'there']);
    expect(await complete('config', 'use-context', 'th')).to.deep.equal(['there']);

    const shown = await run('bash', ['-c', `source '${script}'; for c in "$@"; do echo "$c: $(__orlojctl_flags "$c")"; done`, 'bash', ...commands.map((c) => c.name)], env);
    const globals = new Set(GLOBAL_FLAGS.map((f) => `--${f.name}`));
    for (const entry of commands) {
      const flags = (await entry.load()).flags.map((f) => `--${f.name}`).filter((f) => !globals.has(f));
      const line = shown.stdout.split('\n').find((l) => l.startsWith(`${entry.name}:`)) ?? '';
      expect(line.slice(entry.name.length + 1).split(' ').filter((w) => w.startsWith('--')), entry.name).to.have.members(flags);
    }
  });

  it('prints a zsh script (bashcompinit and compdef); another shell is a usage error', async () => {
    const zsh = await ctl(d, ['completion', 'zsh']);
    expect(zsh.code, zsh.stderr).to.equal(0);
    expect(zsh.stdout).to.match(/^#compdef orlojctl\n/).and.contain('bashcompinit').and.contain('compdef').and.contain('complete -o default -F _orlojctl orlojctl');
    const fish = await ctl(d, ['completion', 'fish']);
    expect(fish.code).to.equal(2);
    expect(fish.stdout).to.equal('');
    expect(fish.stderr).to.contain('unsupported shell "fish" (supported: bash, zsh)').and.contain("See 'orlojctl completion --help'");
    const none = await ctl(d, ['completion']);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.contain('expected: completion bash|zsh');
  });
});
