"""Write the bad-input corpus into tests/corpus/bad_input (ndc.reliability.corpus): run it again
after changing a case, and commit what it writes."""

from ndc.reliability.corpus import CORPUS_DIR, generate

if __name__ == "__main__":
    cases = generate()
    print(f"{len(cases)} cases written to {CORPUS_DIR}")
