import "server-only";
import { notFound, redirect } from "next/navigation";
import { getCurrentUser } from "./session";
import { can, type Permission, type SessionUser } from "./roles";

/** For pages: the signed-in user, or a redirect to the sign-in page. */
export async function requirePageUser(permission?: Permission): Promise<SessionUser> {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");
  // A page the role may not see does not exist for it.
  if (permission && !can(user, permission)) notFound();
  return user;
}
