-- One database per part, each owned by a role of its own that can reach nothing else: the
-- superuser (POSTGRES_PASSWORD) only runs this, once, when the data volume is new. psql reads
-- each role's password from the container's environment (\getenv), so none is written here.
\set ON_ERROR_STOP on
\getenv commitments_password COMMITMENTS_DB_PASSWORD
\getenv evidence_password EVIDENCE_DB_PASSWORD
\getenv ratings_password RATINGS_DB_PASSWORD
\getenv gateway_password GATEWAY_DB_PASSWORD

CREATE ROLE commitments LOGIN PASSWORD :'commitments_password';
CREATE ROLE evidence LOGIN PASSWORD :'evidence_password';
CREATE ROLE ratings LOGIN PASSWORD :'ratings_password';
CREATE ROLE gateway LOGIN PASSWORD :'gateway_password';

CREATE DATABASE commitments OWNER commitments;
CREATE DATABASE evidence OWNER evidence;
CREATE DATABASE ratings OWNER ratings;
CREATE DATABASE gateway OWNER gateway;

-- By default every role may connect to every database; only its owner may now.
REVOKE ALL ON DATABASE commitments FROM PUBLIC;
REVOKE ALL ON DATABASE evidence FROM PUBLIC;
REVOKE ALL ON DATABASE ratings FROM PUBLIC;
REVOKE ALL ON DATABASE gateway FROM PUBLIC;
