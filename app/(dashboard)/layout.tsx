import Link from "next/link";
import type { ReactNode } from "react";
import { requirePageUser } from "@/lib/server/auth/page-user";
import { can } from "@/lib/server/auth/roles";
import { signOutAction } from "../(auth)/sign-in/actions";

export const dynamic = "force-dynamic";

export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const user = await requirePageUser();
  return (
    <>
      <header className="top">
        <Link className="brand" href="/programs">Graft</Link>
        <nav>
          <Link href="/programs">Programs</Link>
          <Link href="/patches">Patches</Link>
          <Link href="/audit">Audit log</Link>
          <Link href="/keys">Signing key</Link>
          <Link href="/tokens">API tokens</Link>
          {can(user, "users:manage") && <Link href="/users">Users</Link>}
        </nav>
        <span data-testid="whoami">{user.email} · {user.role}</span>
        <form action={signOutAction}>
          <button className="secondary" type="submit">Sign out</button>
        </form>
      </header>
      <main className="page">{children}</main>
    </>
  );
}
