"""Language handling and intent classification; the Rasa project lives in nlu/rasa/."""
