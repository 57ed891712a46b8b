/** Mapping a platform's people to `Speaker.isAdmin` (who may run admin commands) from config. */

export interface AdminConfig {
  /** User ids that are admins everywhere. */
  adminUsers: readonly string[];
  /** Roles (or groups) whose members are admins, by id or by name. */
  adminRoles?: readonly string[];
}

/** A person as the platform describes them: their id and the roles they hold (ids and names). */
export interface PlatformPerson {
  id: string;
  roles?: readonly { id: string; name?: string }[];
}

/** Admin by a configured user id, or by holding a configured role (id or name). Platform permissions are the adapter's own check. */
export function isConfiguredAdmin(config: AdminConfig, person: PlatformPerson): boolean {
  if (config.adminUsers.includes(person.id)) return true;
  const roles = config.adminRoles ?? [];
  return (person.roles ?? []).some((role) => roles.includes(role.id) || (role.name !== undefined && roles.includes(role.name)));
}
