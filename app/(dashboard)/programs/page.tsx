import Link from "next/link";
import { requirePageUser } from "@/lib/server/auth/page-user";
import { can } from "@/lib/server/auth/roles";
import { listPrograms } from "@/lib/server/programs/programs";
import { ActionForm, type FormAction } from "@/components/action-form";
import { createProgramAction } from "./actions";

export default async function ProgramsPage() {
  const user = await requirePageUser();
  const programs = await listPrograms();
  return (
    <>
      <h1>Programs</h1>
      <div className="card">
        {programs.length === 0 ? (
          <p className="muted">No programs yet.</p>
        ) : (
          <table>
            <thead>
              <tr><th>Name</th><th>Description</th><th>Versions</th><th>Patches</th></tr>
            </thead>
            <tbody>
              {programs.map((p) => (
                <tr key={p.id}>
                  <td><Link href={`/programs/${p.id}`}>{p.name}</Link></td>
                  <td>{p.description}</td>
                  <td>{p.versions}</td>
                  <td>{p.patches}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {can(user, "program:write") && (
        <div className="card">
          <h2>New program</h2>
          <ActionForm action={createProgramAction as unknown as FormAction} submit="Create program" success="Created." testId="create-program">
            <label htmlFor="name">Name</label>
            <input id="name" name="name" type="text" placeholder="kvd" required />
            <label htmlFor="description">Description</label>
            <input id="description" name="description" type="text" />
          </ActionForm>
        </div>
      )}
    </>
  );
}
