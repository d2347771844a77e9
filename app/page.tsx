import Link from "next/link";
import { redirect } from "next/navigation";
import { getHealth } from "@/lib/server/health";
import { getCurrentUser } from "@/lib/server/auth/session";

export const dynamic = "force-dynamic";

export default async function Home() {
  if (await getCurrentUser()) redirect("/programs");
  const health = await getHealth();
  return (
    <main className="page">
      <h1>Graft</h1>
      <div className="card">
        <p>Dynamic software updating for C programs: review, check and sign patches for running processes.</p>
        <p className="row">
          <span>Database <span className={`badge ${health.database}`}>{health.database}</span></span>
          <span>Worker <span className={`badge ${health.worker}`}>{health.worker}</span></span>
        </p>
        <Link className="button" href="/sign-in">Sign in</Link>
      </div>
    </main>
  );
}
