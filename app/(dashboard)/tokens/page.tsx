import { requirePageUser } from "@/lib/server/auth/page-user";
import { listApiTokens } from "@/lib/server/auth/api-tokens";
import { ActionForm, type FormAction } from "@/components/action-form";
import { TokenForm } from "@/components/token-form";
import { createTokenAction, revokeTokenAction } from "./actions";

export default async function TokensPage() {
  const user = await requirePageUser();
  const tokens = await listApiTokens(user);
  return (
    <>
      <h1>API tokens</h1>
      <div className="card">
        <p>
          For the command line: <code>GRAFT_URL=http://127.0.0.1:3000 GRAFT_TOKEN=graft_… npx graft push</code>, or any HTTP client with{" "}
          <code>Authorization: Bearer graft_…</code> (see the README).
        </p>
        <TokenForm action={createTokenAction as never} />
      </div>
      <div className="card">
        <table>
          <thead><tr><th>Name</th><th>Prefix</th><th>Created</th><th>Last used</th><th></th></tr></thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td className="mono">{t.prefix}…</td>
                <td>{t.createdAt.slice(0, 19).replace("T", " ")}</td>
                <td>{t.lastUsedAt?.slice(0, 19).replace("T", " ") ?? "never"}</td>
                <td>
                  {t.revoked ? <span className="muted">revoked</span> : (
                    <ActionForm action={revokeTokenAction as unknown as FormAction} submit="Revoke">
                      <input type="hidden" name="id" value={t.id} />
                    </ActionForm>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
