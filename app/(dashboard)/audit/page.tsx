import { requirePageUser } from "@/lib/server/auth/page-user";
import { listAuditEvents } from "@/lib/server/audit/list-audit";

export default async function AuditPage() {
  const user = await requirePageUser("audit:read");
  const events = await listAuditEvents({ user, limit: 500 });
  return (
    <>
      <h1>Audit log</h1>
      <div className="card">
        <table data-testid="audit">
          <thead><tr><th>When (UTC)</th><th>Who</th><th>Action</th><th>Target</th><th>Details</th></tr></thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id}>
                <td className="mono">{e.at.replace("T", " ").slice(0, 19)}</td>
                <td>{e.actor}</td>
                <td className="mono">{e.action}</td>
                <td>{e.target}</td>
                <td className="mono">{JSON.stringify(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
