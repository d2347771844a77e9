import "server-only";
import { AppError } from "../errors";

export const ROLES = ["author", "reviewer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do. Admins may do everything. */
const PERMISSIONS = {
  "program:write": ["author", "admin"],
  "version:upload": ["author", "admin"],
  "patch:create": ["author", "admin"],
  "patch:edit": ["author", "reviewer", "admin"],
  "patch:comment": ["author", "reviewer", "admin"],
  "patch:review": ["reviewer", "admin"],
  "bundle:build": ["reviewer", "admin"],
  "bundle:download": ["reviewer", "admin"],
  "users:manage": ["admin"],
  "audit:read": ["author", "reviewer", "admin"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export interface SessionUser {
  id: number;
  email: string;
  name: string;
  role: Role;
}

export function can(user: SessionUser | null, permission: Permission): boolean {
  return !!user && (PERMISSIONS[permission] as readonly Role[]).includes(user.role);
}

export function assertCan(user: SessionUser | null, permission: Permission): asserts user is SessionUser {
  if (!user) throw new AppError("unauthenticated");
  if (!can(user, permission)) throw new AppError("forbidden");
}
