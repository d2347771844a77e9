import { requirePageUser } from "@/lib/server/auth/page-user";
import { listPatches } from "@/lib/server/patches/get-patch";
import { PatchTable } from "@/components/patch-table";

export default async function PatchesPage() {
  await requirePageUser();
  const patches = await listPatches();
  return (
    <>
      <h1>Patches</h1>
      <div className="card">{patches.length === 0 ? <p className="muted">No patches yet.</p> : <PatchTable patches={patches} />}</div>
    </>
  );
}
