// Importing it (`node --import @stagehand/plugin-sdk/testing/register`)
// installs the fake host; it exports nothing.
export {};
