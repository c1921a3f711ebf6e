module example.invalid/promptwall-filter

go 1.19
