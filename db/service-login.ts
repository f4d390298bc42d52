import pg from 'pg';

/** The role each process's login is a member of (sql/0021 grants each what that process's code does). */
export const PROCESS_ROLES = { worker: 'wa_connect_worker', api: 'wa_connect_api' } as const;
export type ServiceProcess = keyof typeof PROCESS_ROLES;

/** The role sql/0014 made for both processes; since sql/0021 it holds nothing of its own. */
const SHARED_ROLE = 'wa_connect_service';

/**
 * Makes `name` the login of one process (created, or its password set again), a member of that process's role and of
 * no other service role, and returns the URL the process connects with: the owner URL with the login's name and
 * password. Run by the schema's owner (it needs CREATEROLE), after the migrations.
 */
export async function ensureProcessLogin(
  ownerUrl: string,
  serviceProcess: ServiceProcess,
  login: { name: string; password: string },
): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(login.name)) throw new Error(`not a plain role name: ${login.name}`);
  if (Object.values(PROCESS_ROLES).includes(login.name as never) || login.name === SHARED_ROLE)
    throw new Error(`${login.name} is a group role, not a login: name the login of the ${serviceProcess} another way`);
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const existing = await client.query<{ powers: boolean }>(
      'SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls AS powers FROM pg_roles WHERE rolname = $1',
      [login.name],
    );
    const role = client.escapeIdentifier(login.name);
    const password = client.escapeLiteral(login.password);
    // Taking powers away needs a superuser on PostgreSQL 15, which the schema's owner is not (docker-compose): a
    // login that has any is refused rather than altered.
    if (existing.rows[0]?.powers)
      throw new Error(
        `${login.name} may create roles or databases or is a superuser: not a login for the ${serviceProcess}`,
      );
    // Role statements take no bind parameters; the name is a checked identifier and the password a quoted literal.
    await client.query(
      existing.rowCount
        ? `ALTER ROLE ${role} LOGIN PASSWORD ${password}`
        : `CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${password}`,
    );
    // A login that served the other process, or both (before sql/0021), keeps only this process's rights.
    for (const other of [SHARED_ROLE, ...Object.values(PROCESS_ROLES)].filter(
      (r) => r !== PROCESS_ROLES[serviceProcess],
    )) {
      await client.query(`REVOKE ${other} FROM ${role}`);
    }
    await client.query(`GRANT ${PROCESS_ROLES[serviceProcess]} TO ${role}`);
  } finally {
    await client.end();
  }
  const url = new URL(ownerUrl);
  url.username = login.name;
  url.password = login.password;
  return url.toString();
}
