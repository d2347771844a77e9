-- AlterTable
ALTER TABLE "Review" ADD COLUMN     "digest" TEXT NOT NULL DEFAULT '';

-- AlterTable
ALTER TABLE "Bundle" ADD COLUMN     "revisionDigest" TEXT;

-- AlterTable
ALTER TABLE "SigningKey" ADD COLUMN     "privateKeySealed" TEXT NOT NULL DEFAULT '',
ALTER COLUMN "privateKeyPem" SET DEFAULT '';

