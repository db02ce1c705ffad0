"""The AWS realisation of the topology: one construct per capability, a thin stack."""
