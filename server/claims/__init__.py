"""Claims out: the clinic's billing setup and the 837P built from a Coding, validated before it leaves.

`setup` is the billing setup (billing provider, rendering providers, clearinghouses with their
payer ids); `build` turns a ready Coding, its Encounter and the subscriber into an 837P
(005010X222A1); `checks` reads the file back on its own (pyx12 for the structure, our semantic
checks for what pyx12 does not look at) and says where each problem is: loop, segment, element.
"""
