import pg from 'pg';

/** The group role sql/0014 grants row access to; the service's login roles are its members. */
export const SERVICE_ROLE = 'wa_connect_service';

/**
 * Makes `name` a login of the service's group role with this password (created, or its password set again) and
 * returns the URL the service's processes connect with: the owner URL with the login's name and password.
 * Run by the schema's owner (it needs CREATEROLE), after the migrations.
 */
export async function ensureServiceLogin(ownerUrl: string, login: { name: string; password: string }): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(login.name)) throw new Error(`not a plain role name: ${login.name}`);
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [login.name]);
    const role = client.escapeIdentifier(login.name);
    const password = client.escapeLiteral(login.password);
    // Role statements take no bind parameters; the name is a checked identifier and the password a quoted literal.
    await client.query(
      exists.rowCount
        ? `ALTER ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${password}`
        : `CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${password}`,
    );
    await client.query(`GRANT ${SERVICE_ROLE} TO ${role}`);
  } finally {
    await client.end();
  }
  const url = new URL(ownerUrl);
  url.username = login.name;
  url.password = login.password;
  return url.toString();
}
