"""What is sent and when: the planner, the delivery worker and the scheduler that triggers them."""
