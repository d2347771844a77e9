"use client";

import { useEffect, useRef, useState } from "react";
import { useRouter } from "next/navigation";

interface JobView {
  id: number;
  kind: string;
  status: string;
  log: string;
  error: string | null;
}

/**
 * Live progress of a worker job: polls /api/jobs/ID every second while the
 * job is queued or running, then refreshes the page's server data.
 */
export function JobProgress({ jobId, title, refreshOnDone = true }: { jobId: number; title?: string; refreshOnDone?: boolean }) {
  const router = useRouter();
  const [job, setJob] = useState<JobView | null>(null);
  const logRef = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    let wasActive = false;
    const poll = async () => {
      try {
        const res = await fetch(`/api/jobs/${jobId}`, { cache: "no-store" });
        if (res.ok) {
          const j = (await res.json()) as JobView;
          if (stop) return;
          setJob(j);
          const active = j.status === "queued" || j.status === "running";
          if (active) wasActive = true;
          else {
            if (wasActive && refreshOnDone) router.refresh();
            return;
          }
        }
      } catch {
        /* try again */
      }
      if (!stop) timer = setTimeout(poll, 1000);
    };
    poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [jobId, refreshOnDone, router]);
  useEffect(() => {
    if (logRef.current) logRef.current.scrollTop = logRef.current.scrollHeight;
  }, [job?.log]);
  return (
    <div className="card" data-testid={`job-${jobId}`} data-job-status={job?.status ?? "loading"}>
      <div className="row">
        <strong>{title ?? `Job ${jobId}`}</strong>
        <span className={`badge ${job?.status ?? "queued"}`}>{job?.status ?? "…"}</span>
        {job && (job.status === "queued" || job.status === "running") && <span className="muted">live</span>}
      </div>
      {job?.error && <p className="notice error">{job.error}</p>}
      {job?.log ? <pre className="log" ref={logRef}>{job.log}</pre> : <p className="muted">{job?.status === "queued" ? "waiting for a worker…" : ""}</p>}
    </div>
  );
}
