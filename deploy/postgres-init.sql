-- One database per part: each owns its data, nothing else reads it.
CREATE DATABASE commitments;
CREATE DATABASE evidence;
CREATE DATABASE ratings;
CREATE DATABASE gateway;
