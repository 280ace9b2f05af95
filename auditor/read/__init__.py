"""Reading workbooks: discover files, find sheets and headers, keep every cell's origin."""
