import { redirect } from "next/navigation";
import { getCurrentUser } from "@/lib/server/auth/session";
import { SignInForm } from "./components/sign-in-form";
import { signInAction } from "./actions";

export const dynamic = "force-dynamic";

export default async function SignInPage() {
  if (await getCurrentUser()) redirect("/programs");
  return (
    <main className="page" style={{ maxWidth: 420 }}>
      <h1>Sign in to Graft</h1>
      <div className="card">
        <SignInForm action={signInAction} />
      </div>
      <p className="muted">
        No account yet? An administrator creates accounts; the first one with{" "}
        <code>npx tsx scripts/create-admin.ts --email …</code>.
      </p>
    </main>
  );
}
