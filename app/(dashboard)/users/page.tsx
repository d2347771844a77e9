import { requirePageUser } from "@/lib/server/auth/page-user";
import { listUsers } from "@/lib/server/users/create-user";
import { ActionForm, type FormAction } from "@/components/action-form";
import { createUserAction } from "./actions";

export default async function UsersPage() {
  const user = await requirePageUser("users:manage");
  const users = await listUsers(user);
  return (
    <>
      <h1>Users</h1>
      <div className="card">
        <table data-testid="users">
          <thead><tr><th>Email</th><th>Name</th><th>Role</th><th>Since</th></tr></thead>
          <tbody>
            {users.map((u) => <tr key={u.id}><td>{u.email}</td><td>{u.name}</td><td>{u.role}</td><td>{u.createdAt.slice(0, 10)}</td></tr>)}
          </tbody>
        </table>
      </div>
      <div className="card">
        <h2>New user</h2>
        <ActionForm action={createUserAction as unknown as FormAction} submit="Create user" success="Created." testId="create-user">
          <div className="grid2">
            <div><label htmlFor="email">Email</label><input id="email" name="email" type="email" required /></div>
            <div><label htmlFor="name">Name</label><input id="name" name="name" type="text" /></div>
            <div>
              <label htmlFor="role">Role</label>
              <select id="role" name="role" defaultValue="author">
                <option value="author">author</option>
                <option value="reviewer">reviewer</option>
                <option value="admin">admin</option>
              </select>
            </div>
            <div><label htmlFor="password">Initial password (at least 10 characters)</label><input id="password" name="password" type="password" minLength={10} required /></div>
          </div>
        </ActionForm>
      </div>
    </>
  );
}
