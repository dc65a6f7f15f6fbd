"""AI solution development and on-site demonstration (AI 솔루션 개발 및 실증).

features (catalogue and training frames over the dbt feature models) -> training (split, model,
baseline, metrics, verdict) -> tracking (MLflow) -> scoring (daily predictions, on-site results)
-> drift (PSI, rolling PR-AUC, flags). Results land in the warehouse schema `ml` (store.py).
"""
