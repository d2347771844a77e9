import "server-only";
import { redirect } from "next/navigation";
import { getCurrentUser } from "./session";
import { can, type Permission, type SessionUser } from "./roles";
import { AppError } from "../errors";

/** For pages: the signed-in user, or a redirect to the sign-in page. */
export async function requirePageUser(permission?: Permission): Promise<SessionUser> {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");
  if (permission && !can(user, permission)) throw new AppError("forbidden");
  return user;
}
