import Link from "next/link";

export default function NotFound() {
  return (
    <main className="page">
      <h1>Not found</h1>
      <div className="card">
        <p>There is nothing here, or your role does not allow you to see it.</p>
        <Link href="/programs">Back to the programs</Link>
      </div>
    </main>
  );
}
