import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { newKeyEntry } from '../../lib/keyring.js';

const exec = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const PODMAN_SOCKET = '/run/podman/podman.sock';

/** Settings the test gives the services on top of docker-compose.yml (a third compose file, written per phase). */
export interface ServiceSettings {
  worker: Record<string, string>;
  api: Record<string, string>;
}

/**
 * docker-compose.yml as users run it, with docker-compose.local.yml's images, driven the way an operator would:
 * docker-compose (1.29) against podman's Docker-compatible socket, the project's own name, secrets of its own, the
 * API published on a loopback port. Podman 4.3 never runs healthchecks by itself here (no systemd timers), so
 * `up` drives them with `podman healthcheck run` while it waits for `service_healthy`.
 */
export class ComposeProject {
  /** The project's name: scripts/test-compose.sh's, whose trap removes everything under it whatever happens. */
  readonly name = process.env.COMPOSE_TEST_PROJECT ?? `wa-connect-test-${process.pid}`;
  readonly apiPort: number;
  private readonly dir: string;
  private readonly secrets: Record<string, string>;
  private service: ChildProcess | null = null;

  constructor(apiPort: number) {
    this.apiPort = apiPort;
    this.dir = join(ROOT, '.data', this.name);
    const secret = () => randomBytes(18).toString('base64url');
    this.secrets = {
      ENCRYPTION_KEYS: newKeyEntry(),
      POSTGRES_PASSWORD: secret(),
      MIGRATION_DB_PASSWORD: secret(),
      WORKER_DB_PASSWORD: secret(),
      API_DB_PASSWORD: secret(),
      TEMPORAL_DB_PASSWORD: secret(),
      API_PORT: String(apiPort),
      // Podman's own default seccomp profile already allows Chromium's sandbox (docker-compose.yml, the worker).
      WORKER_SECCOMP: 'no-new-privileges:true',
    };
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  /** Podman's Docker-compatible API, started for this run when nothing answers on its socket. */
  async startEngine(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (await this.engineAnswers()) return;
    await mkdir('/run/podman', { recursive: true });
    // A socket file nothing answers on is left from a service that ended with its session.
    await rm(PODMAN_SOCKET, { force: true });
    this.service = spawn('podman', ['system', 'service', '--time=0', `unix://${PODMAN_SOCKET}`], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100 && !(await this.engineAnswers()); i++) await sleep(100);
    if (!(await this.engineAnswers())) throw new Error('podman system service did not answer on its socket');
  }

  async stopEngine(): Promise<void> {
    this.service?.kill('SIGTERM');
  }

  /** Writes the per-phase settings file the next `up` reads. */
  async configure(settings: ServiceSettings): Promise<void> {
    const block = (values: Record<string, string>) =>
      Object.entries(values)
        .map(([key, value]) => `      ${key}: ${JSON.stringify(value)}`)
        .join('\n');
    await writeFile(
      this.settingsFile,
      `services:\n  worker:\n    environment:\n${block(settings.worker)}\n  api:\n    environment:\n${block(settings.api)}\n`,
    );
  }

  /**
   * `docker-compose up -d` with the arguments given, driving healthchecks while it waits for them. When it fails, the
   * error ends with the last lines of every container that exited with an error: docker-compose names such a
   * container only by its id, and a one-shot's log says why it failed.
   */
  async up(...args: string[]): Promise<void> {
    const driver = setInterval(() => void this.runHealthchecks(), 2_000);
    try {
      await this.compose(['up', '-d', '--no-build', ...args], 15 * 60_000);
    } catch (error) {
      throw new Error(`${String(error)}${await this.failedContainersLogs()}`, { cause: error });
    } finally {
      clearInterval(driver);
    }
  }

  private async failedContainersLogs(): Promise<string> {
    const failed = (await this.allContainers().catch(() => [])).filter((container) =>
      /^Exited \([1-9]\d*\)/.test(container.status),
    );
    let logs = '';
    for (const { id, name, status } of failed) {
      logs += `\n--- ${name} (${id}): ${status} ---\n${await this.logOf(id, ['--tail', '40'])}`;
    }
    return logs;
  }

  /** Every container of the project, running or not. */
  private async allContainers(): Promise<Array<{ id: string; name: string; status: string }>> {
    const { stdout } = await exec('podman', [
      'ps',
      '--all',
      '--filter',
      `label=com.docker.compose.project=${this.name}`,
      '--format',
      '{{.ID}}\t{{.Names}}\t{{.Status}}',
    ]);
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id = '', name = '', status = ''] = line.split('\t');
        return { id, name, status };
      });
  }

  /** A container's log, its error when it has none to give. */
  private logOf(id: string, options: string[]): Promise<string> {
    return exec('podman', ['logs', ...options, id], { maxBuffer: 256 * 1024 * 1024 }).then(
      ({ stdout, stderr }) => stdout + stderr,
      (error: unknown) => String(error),
    );
  }

  /** Everything of the project gone: containers, networks and volumes (podman leaves nothing behind it either). */
  async down(): Promise<void> {
    await exec('podman', ['rm', '-f', `${this.name}_auditor`]).catch(() => undefined);
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '20'], 5 * 60_000).catch(
      (error: unknown) => process.stderr.write(`docker-compose down: ${String(error)}\n`),
    );
    const label = `label=com.docker.compose.project=${this.name}`;
    for (const kind of ['container', 'network', 'volume'] as const) {
      const left = await this.leftBehind(kind);
      if (left.length === 0) continue;
      const remove = kind === 'container' ? ['rm', '-f', '-v'] : [kind, 'rm', '-f'];
      await exec('podman', [...remove, ...left]).catch(() => undefined);
      process.stderr.write(`removed ${left.length} ${kind}(s) left with ${label}\n`);
    }
  }

  /** What is left of the project: container, network or volume names. */
  async leftBehind(kind: 'container' | 'network' | 'volume'): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const list =
      kind === 'container'
        ? ['ps', '-a', '--filter', label, '--format', '{{.Names}}']
        : [kind, 'ls', '--filter', label, '--format', '{{.Name}}'];
    const { stdout } = await exec('podman', list);
    return stdout.split('\n').filter(Boolean);
  }

  async compose(args: string[], timeoutMs = 5 * 60_000): Promise<string> {
    const files = ['docker-compose.yml', 'docker-compose.local.yml', this.settingsFile].flatMap((file) => ['-f', file]);
    const { stdout } = await exec('docker-compose', ['-p', this.name, ...files, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...this.secrets, DOCKER_HOST: `unix://${PODMAN_SOCKET}`, COMPOSE_HTTP_TIMEOUT: '300' },
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  /**
   * Every container of the project's log so far, one file each under `dir`, named with the container's id: a
   * container a case kills, removes or scales away takes its log with it, one made again under the same name (a
   * scale down and up) starts a log of its own, and the stack's log written at the end has only the containers left.
   */
  async keepLogs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const { id, name } of await this.allContainers()) {
      await writeFile(join(dir, `${name}-${id.slice(0, 12)}.log`), await this.logOf(id, ['--timestamps']));
    }
  }

  /** The running containers of a service, by name (`<project>_<service>_<n>`). */
  async containers(service: string): Promise<string[]> {
    const { stdout } = await exec('podman', [
      'ps',
      '--filter',
      `label=com.docker.compose.project=${this.name}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
      '--format',
      '{{.Names}}',
    ]);
    return stdout.split('\n').filter(Boolean).sort();
  }

  /** The hostname of a container: the host name its worker gives itself. */
  async hostnameOf(container: string): Promise<string> {
    const { stdout } = await exec('podman', ['inspect', '--format', '{{.Config.Hostname}}', container]);
    return stdout.trim();
  }

  /**
   * A container of the service's image in PostgreSQL's own network namespace, with the worker's login (it reads the leases and clients the audit judges)
   * on 127.0.0.1: the test's own reads of the rows (the audit) need no network and no name resolution, so no cut a
   * fault case makes reaches them. Made again when PostgreSQL's container restarts (its namespace goes with it).
   */
  async startAuditor(): Promise<string> {
    const name = `${this.name}_auditor`;
    const [database] = await this.containers('postgresql');
    if (!database) throw new Error('no PostgreSQL container to audit');
    await exec('podman', ['rm', '-f', name]).catch(() => undefined);
    await exec('podman', [
      'run',
      '--detach',
      '--name',
      name,
      '--label',
      `com.docker.compose.project=${this.name}`,
      '--network',
      `container:${database}`,
      '--env',
      `DATABASE_URL=postgres://wa_worker:${this.secrets.WORKER_DB_PASSWORD}@127.0.0.1:5432/wa_connect`,
      'localhost/wa-connect:local',
      'sleep',
      'infinity',
    ]);
    return name;
  }

  /** A command in a running container of the service. */
  async execIn(container: string, command: string[], env: Record<string, string> = {}): Promise<string> {
    const envArgs = Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
    const { stdout } = await exec('podman', ['exec', ...envArgs, container, ...command], {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }

  /** A one-off container of an image on one of the project's networks, with volumes (name:path[:ro]). */
  async runOnNetwork(
    network: string,
    image: string,
    command: string[],
    volumes: string[] = [],
  ): Promise<{ code: number; output: string }> {
    const args = [
      'run',
      '--rm',
      '--network',
      `${this.name}_${network}`,
      ...volumes.flatMap((volume) => ['--volume', `${this.name}_${volume}`]),
      image,
      ...command,
    ];
    try {
      const { stdout, stderr } = await exec('podman', args, { timeout: 120_000 });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
    }
  }

  /** Cuts a container from one of the project's networks, or joins it again (the same name, the same alias). */
  async network(action: 'connect' | 'disconnect', network: string, container: string, alias?: string) {
    const aliasArgs = action === 'connect' && alias ? ['--alias', alias] : [];
    await exec('podman', ['network', action, ...aliasArgs, `${this.name}_${network}`, container]);
  }

  async podman(...args: string[]): Promise<string> {
    const { stdout } = await exec('podman', args, { timeout: 180_000 });
    return stdout;
  }

  private get settingsFile(): string {
    return join(this.dir, 'settings.yml');
  }

  private async engineAnswers(): Promise<boolean> {
    if (!existsSync(PODMAN_SOCKET)) return false;
    try {
      await exec('curl', ['-sf', '--unix-socket', PODMAN_SOCKET, 'http://d/_ping'], { timeout: 2_000 });
      return true;
    } catch {
      return false;
    }
  }

  private async runHealthchecks(): Promise<void> {
    const { stdout } = await exec('podman', [
      'ps',
      '--filter',
      `label=com.docker.compose.project=${this.name}`,
      '--filter',
      'health=starting',
      '--format',
      '{{.Names}}',
    ]).catch(() => ({ stdout: '' }));
    await Promise.all(
      stdout
        .split('\n')
        .filter(Boolean)
        .map((name) => exec('podman', ['healthcheck', 'run', name]).catch(() => undefined)),
    );
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
