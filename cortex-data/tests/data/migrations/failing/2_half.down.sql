DROP TABLE half_first;
