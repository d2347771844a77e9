"use client";

export default function DashboardError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div className="card">
      <h1>Something went wrong</h1>
      <p className="error">{error.digest ? `The server could not show this page (reference ${error.digest}).` : error.message}</p>
      <button type="button" onClick={reset}>Try again</button>
    </div>
  );
}
