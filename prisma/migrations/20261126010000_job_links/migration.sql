-- AlterTable
ALTER TABLE "Version" ADD COLUMN "jobId" INTEGER;

-- AlterTable
ALTER TABLE "Patch" ADD COLUMN "jobId" INTEGER;

-- AlterTable
ALTER TABLE "Bundle" ADD COLUMN "jobId" INTEGER;

-- AlterTable
ALTER TABLE "Job" ADD COLUMN "programId" INTEGER;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_PatchRevision" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "patchId" INTEGER NOT NULL,
    "number" INTEGER NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'open',
    "manifest" TEXT NOT NULL,
    "patchSource" TEXT NOT NULL,
    "xformSource" TEXT NOT NULL,
    "generatedXform" TEXT NOT NULL DEFAULT '',
    "checkResult" TEXT,
    "checkJobId" INTEGER,
    "versionData" TEXT,
    "createdById" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "PatchRevision_patchId_fkey" FOREIGN KEY ("patchId") REFERENCES "Patch" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "PatchRevision_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_PatchRevision" ("checkResult", "createdAt", "createdById", "id", "manifest", "number", "patchId", "patchSource", "state", "updatedAt", "versionData", "xformSource") SELECT "checkResult", "createdAt", "createdById", "id", "manifest", "number", "patchId", "patchSource", "state", "updatedAt", "versionData", "xformSource" FROM "PatchRevision";
DROP TABLE "PatchRevision";
ALTER TABLE "new_PatchRevision" RENAME TO "PatchRevision";
CREATE UNIQUE INDEX "PatchRevision_patchId_number_key" ON "PatchRevision"("patchId", "number");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

