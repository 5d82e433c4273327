-- Each service has its own database; the auth one is POSTGRES_DB.
CREATE DATABASE tasks;
