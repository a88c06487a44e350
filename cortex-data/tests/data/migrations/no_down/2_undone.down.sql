DROP TABLE undone;
