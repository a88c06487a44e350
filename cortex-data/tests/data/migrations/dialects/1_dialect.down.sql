DROP TABLE dialect;
