import { requirePageUser } from "@/lib/server/auth/page-user";
import { getPublicSigningKey } from "@/lib/server/signing/public-key";

export default async function KeysPage() {
  await requirePageUser();
  const key = await getPublicSigningKey();
  return (
    <>
      <h1>Signing key</h1>
      <div className="card">
        {key ? (
          <>
            <p>Bundles built here are signed with this Ed25519 key. Programs built on this server trust it; for your own builds, save it as <code>graft.pub</code> and pass <code>--trust graft.pub</code> to <code>graft compile</code>.</p>
            <pre data-testid="public-key">{key.line}</pre>
            <p>Key id <code>{key.keyId}</code> · <a href="/api/signing-key">download graft.pub</a></p>
            <p className="muted">The private key stays on the server: only the worker uses it, inside a build.</p>
          </>
        ) : (
          <p className="muted">The worker creates the key with its first build.</p>
        )}
      </div>
    </>
  );
}
