-- AlterTable
ALTER TABLE "Bundle" ADD COLUMN "revisionDigest" TEXT;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Review" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "revisionId" INTEGER NOT NULL,
    "reviewerId" INTEGER NOT NULL,
    "decision" TEXT NOT NULL,
    "digest" TEXT NOT NULL DEFAULT '',
    "comment" TEXT NOT NULL DEFAULT '',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Review_revisionId_fkey" FOREIGN KEY ("revisionId") REFERENCES "PatchRevision" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Review_reviewerId_fkey" FOREIGN KEY ("reviewerId") REFERENCES "User" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Review" ("active", "comment", "createdAt", "decision", "id", "reviewerId", "revisionId") SELECT "active", "comment", "createdAt", "decision", "id", "reviewerId", "revisionId" FROM "Review";
DROP TABLE "Review";
ALTER TABLE "new_Review" RENAME TO "Review";
CREATE TABLE "new_SigningKey" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "publicKeyHex" TEXT NOT NULL,
    "privateKeySealed" TEXT NOT NULL DEFAULT '',
    "privateKeyPem" TEXT NOT NULL DEFAULT '',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_SigningKey" ("active", "createdAt", "id", "privateKeyPem", "publicKeyHex") SELECT "active", "createdAt", "id", "privateKeyPem", "publicKeyHex" FROM "SigningKey";
DROP TABLE "SigningKey";
ALTER TABLE "new_SigningKey" RENAME TO "SigningKey";
CREATE UNIQUE INDEX "SigningKey_publicKeyHex_key" ON "SigningKey"("publicKeyHex");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

