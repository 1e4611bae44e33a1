/** The test database a worker process started by the crash-safety tests uses (test wiring only). */
export function testDatabaseEnv(): { url: string; appUrl: string } {
  const { TEST_DATABASE_URL, TEST_DATABASE_APP_URL } = process.env;
  if (!TEST_DATABASE_URL || !TEST_DATABASE_APP_URL)
    throw new Error("TEST_DATABASE_URL and TEST_DATABASE_APP_URL are required");
  return { url: TEST_DATABASE_URL, appUrl: TEST_DATABASE_APP_URL };
}
